package main

import (
	"fmt"

	"github.com/nubificus/bunix/pkg/registry"
	"github.com/nubificus/bunix/pkg/source"
	"github.com/spf13/cobra"
)

func newPush(getenv func(string) string) *cobra.Command {
	var insecure bool
	cmd := command("push IMAGE|- REF", "Push an image file to a registry", exactArgs(2),
		"bunix push result registry.example.com/urunc/redis:test",
		"bunix push --insecure image.oci.tar 127.0.0.1:5000/urunc/redis:test",
		"bunix build -o - | bunix push - registry.example.com/urunc/redis:test")
	cmd.RunE = func(cmd *cobra.Command, a []string) error {
		opts, err := registryOptions(getenv, insecure)
		if err != nil {
			return err
		}
		stdin, err := source.InputFromEnv(cmd.InOrStdin(), getenv)
		if err != nil {
			return usageError{err}
		}
		d, err := source.Push(cmd.Context(), a[0], a[1], stdin, opts...)
		if err != nil {
			return userFault(err)
		}
		fmt.Fprintln(cmd.OutOrStdout(), d.String())
		return nil
	}
	insecureFlag(cmd, &insecure)
	return cmd
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
