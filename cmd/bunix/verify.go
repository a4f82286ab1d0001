package main

import (
	"errors"
	"fmt"

	"github.com/nubificus/bunix/pkg/registry"
	"github.com/nubificus/bunix/pkg/sign"
	"github.com/spf13/cobra"
)

func newVerify(getenv func(string) string) *cobra.Command {
	var insecure bool
	var keyFile string
	cmd := command("verify --key PUB REF", "Check an image's signature in a registry, as cosign verify does", exactArgs(1),
		"bunix verify --key cosign.pub registry.example.com/urunc/redis:1.0",
		"bunix verify --insecure --key cosign.pub 127.0.0.1:5000/urunc/redis@sha256:...")
	cmd.RunE = func(cmd *cobra.Command, a []string) error {
		if keyFile == "" {
			return usageError{errors.New("verify: --key is required (the public key, e.g. cosign.pub)")}
		}
		key, err := sign.ReadPublicKey(keyFile)
		if err != nil {
			return usageError{fmt.Errorf("verify: --key: %w", err)}
		}
		// A file path is not a reference, though a registry might resolve
		// it (img.tar would go to Docker Hub as docker.io/library/img.tar).
		ref, err := registry.RefOnly(a[0])
		if err != nil {
			return usageError{fmt.Errorf("verify: %w", err)}
		}
		opts, err := registryOptions(getenv, insecure)
		if err != nil {
			return err
		}
		d, err := registry.Verify(cmd.Context(), ref, key, opts...)
		if err != nil {
			// A REF that does not parse or names no image is bad input; a
			// signature that fails is exit 1.
			return userFault(err)
		}
		fmt.Fprintln(cmd.OutOrStdout(), d.String())
		return nil
	}
	cmd.Flags().StringVar(&keyFile, "key", "", "the public key (PEM, as cosign generate-key-pair writes cosign.pub)")
	insecureFlag(cmd, &insecure)
	return cmd
}
