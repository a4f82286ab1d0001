package main

import (
	"crypto/ecdsa"
	"fmt"
	"path/filepath"

	"github.com/nubificus/bunix/pkg/registry"
	"github.com/nubificus/bunix/pkg/sbom"
	"github.com/nubificus/bunix/pkg/sign"
	"github.com/nubificus/bunix/pkg/source"
	"github.com/spf13/cobra"
)

func newPush(getenv func(string) string) *cobra.Command {
	var insecure bool
	var signKey, sbomFile string
	cmd := command("push IMAGE|- REF", "Push an image file to a registry", exactArgs(2),
		"bunix push result registry.example.com/urunc/redis:test",
		"bunix push --insecure image.oci.tar 127.0.0.1:5000/urunc/redis:test",
		"bunix build -o - | bunix push - registry.example.com/urunc/redis:test",
		"COSIGN_PASSWORD=... bunix push --sign-key cosign.key --sbom result-sbom result registry.example.com/urunc/redis:1.0")
	cmd.RunE = func(cmd *cobra.Command, a []string) error {
		// A destination that is a file path is a mistake (push is not a
		// copy), though a registry might resolve it: ./out.tar would go
		// to the host ".", out.tar to Docker Hub as docker.io/library/out.tar.
		dest, err := registry.RefOnly(a[1])
		if err != nil {
			return usageError{fmt.Errorf("push: %w", err)}
		}
		opts, err := registryOptions(getenv, insecure)
		if err != nil {
			return err
		}
		// The key and the SBOM are read before anything is pushed.
		var key *ecdsa.PrivateKey
		if signKey != "" {
			if key, err = sign.ReadPrivateKey(signKey, cosignPassword(getenv)); err != nil {
				return usageError{fmt.Errorf("push: --sign-key: %w", err)}
			}
		}
		var doc []byte
		if sbomFile != "" {
			if doc, err = sbom.ReadFile(sbomFile); err != nil {
				return usageError{fmt.Errorf("push: --sbom: %w", err)}
			}
		}
		stdin, err := source.InputFromEnv(cmd.InOrStdin(), getenv)
		if err != nil {
			return usageError{err}
		}
		d, err := source.Push(cmd.Context(), a[0], dest, stdin, opts...)
		if err != nil {
			return userFault(err)
		}
		if doc != nil {
			ref, err := registry.Attach(cmd.Context(), d, sbom.MediaType, filepath.Base(sbomFile), doc, opts...)
			if err != nil {
				return fmt.Errorf("pushed %s, but: %w", d, err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "bunix: attached the SBOM %s as %s\n", sbomFile, ref)
		}
		if key != nil {
			ref, err := registry.Sign(cmd.Context(), d, key, opts...)
			if err != nil {
				return fmt.Errorf("pushed %s, but: %w", d, err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "bunix: signed %s: %s\n", d.DigestStr(), ref)
		}
		fmt.Fprintln(cmd.OutOrStdout(), d.String())
		return nil
	}
	insecureFlag(cmd, &insecure)
	cmd.Flags().StringVar(&signKey, "sign-key", "", "sign the pushed manifest with this private key, as cosign does (PEM; cosign's encrypted keys take COSIGN_PASSWORD)")
	cmd.Flags().StringVar(&sbomFile, "sbom", "", "attach this SPDX JSON file (bunix build --sbom) to the pushed image as an OCI referrer")
	return cmd
}

// cosignPassword returns the password of an encrypted key, as cosign takes
// it: COSIGN_PASSWORD, nil when it is unset or empty.
func cosignPassword(getenv func(string) string) func() []byte {
	return func() []byte {
		if p := getenv("COSIGN_PASSWORD"); p != "" {
			return []byte(p)
		}
		return nil
	}
}

// userFault marks as bad input (exit 2) an error of inspect, push or
// prefetch that is the user's (registry.IsUserError).
func userFault(err error) error {
	if registry.IsUserError(err) {
		return usageError{err}
	}
	return err
}

// insecureFlag adds --insecure to a command that talks to a registry.
func insecureFlag(cmd *cobra.Command, insecure *bool) {
	cmd.Flags().BoolVar(insecure, "insecure", false, "talk plain HTTP to the registry")
}

// registryOptions are the registry options of every command that talks
// to one: those of the environment (registry.FromEnv; a bad value is a
// usage error) and the flags'.
func registryOptions(getenv func(string) string, insecure bool) ([]registry.Option, error) {
	opts, err := registry.FromEnv(getenv)
	if err != nil {
		return nil, usageError{err}
	}
	if insecure {
		opts = append(opts, registry.Insecure())
	}
	return opts, nil
}
