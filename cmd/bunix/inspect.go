package main

import (
	"github.com/nubificus/bunix/pkg/inspect"
	"github.com/nubificus/bunix/pkg/source"
	"github.com/spf13/cobra"
)

func newInspect(getenv func(string) string) *cobra.Command {
	var asJSON, insecure bool
	cmd := command("inspect IMAGE", "Show what is in an image, as urunc will see it", exactArgs(1),
		"bunix inspect result",
		"bunix inspect --json image.tar | jq .urunc",
		"bunix build -o - | bunix inspect -",
		"bunix inspect --insecure 127.0.0.1:5000/urunc/redis:test",
		"bunix inspect docker://redis:7")
	cmd.RunE = func(cmd *cobra.Command, a []string) error {
		opts, err := registryOptions(getenv, insecure)
		if err != nil {
			return err
		}
		stdin, err := source.InputFromEnv(cmd.InOrStdin(), getenv)
		if err != nil {
			return usageError{err}
		}
		reports, err := source.Inspect(cmd.Context(), a[0], stdin, opts...)
		if err != nil {
			return userFault(err)
		}
		if asJSON {
			return inspect.WriteJSONAll(cmd.OutOrStdout(), reports)
		}
		return inspect.WriteTextAll(cmd.OutOrStdout(), reports)
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON (a list for an index)")
	insecureFlag(cmd, &insecure)
	return cmd
}
