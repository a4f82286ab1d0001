package main

import (
	"fmt"

	"github.com/nubificus/bunix/pkg/registry"
	"github.com/nubificus/bunix/pkg/source"
	"github.com/spf13/cobra"
)

func newPush() *cobra.Command {
	var insecure bool
	cmd := command("push IMAGE|- REF", "Push an image file to a registry", exactArgs(2),
		"bunix push result registry.example.com/urunc/redis:test",
		"bunix push --insecure image.oci.tar 127.0.0.1:5000/urunc/redis:test",
		"bunix build -o - | bunix push - registry.example.com/urunc/redis:test")
	cmd.RunE = func(cmd *cobra.Command, a []string) error {
		d, err := source.Push(cmd.Context(), a[0], a[1], cmd.InOrStdin(), registryOptions(insecure)...)
		if err != nil {
			return userFault(err)
		}
		fmt.Fprintln(cmd.OutOrStdout(), d.String())
		return nil
	}
	cmd.Flags().BoolVar(&insecure, "insecure", false, "talk plain HTTP to the registry")
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

// registryOptions are the options of push and inspect.
func registryOptions(insecure bool) []registry.Option {
	if insecure {
		return []registry.Option{registry.Insecure()}
	}
	return nil
}
