package main

import (
	"github.com/nubificus/bunix/pkg/inspect"
	"github.com/spf13/cobra"
)

func newInspect() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "inspect IMAGE.tar",
		Short: "Show what is in an image tar, as urunc will see it",
		Long: `Inspect reads a docker-archive tar and shows its name and tags, platform,
creation time and process args, every layer with its files (mode, owner,
size), /urunc.json decoded from base64, and the labels.`,
		Example: `  bunix inspect result
  bunix inspect --json image.tar | jq .urunc`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			r, err := inspect.DockerArchive(a[0])
			if err != nil {
				return err
			}
			if asJSON {
				return r.WriteJSON(cmd.OutOrStdout())
			}
			return r.WriteText(cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}
