package main

import (
	"github.com/nubificus/bunix/internal/source"
	"github.com/nubificus/bunix/pkg/inspect"
	"github.com/spf13/cobra"
)

func newInspect() *cobra.Command {
	var asJSON, insecure bool
	cmd := &cobra.Command{
		Use:   "inspect IMAGE",
		Short: "Show what is in an image, as urunc will see it",
		Long: `Inspect reads an image and shows its names, digest, platform, creation
time and process args, /urunc.json decoded from base64, the file tree, the
layers, the labels and the manifest annotations. Every layer is read once
and checked against the config's diffIDs. An index (multi-arch) gives one
report per image.

IMAGE is a file (docker-archive, oci-archive or OCI layout directory); -
for an archive on standard input; or, only when it says so, an image in a
registry: docker://REF, or HOST/NAME:TAG or HOST/NAME@DIGEST where HOST is
localhost or has a "." or ":". An IMAGE that exists is read as a file; one
that does not and is no such reference is "no such file" (exit 2), so a
mistyped file name never becomes a request to Docker Hub.`,
		Example: `  bunix inspect result
  bunix inspect --json image.tar | jq .urunc
  bunix build -o - | bunix inspect -
  bunix inspect --insecure 127.0.0.1:5000/urunc/redis:test
  bunix inspect docker://redis:7`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			reports, err := source.Inspect(cmd.Context(), a[0], cmd.InOrStdin(), registryOptions(insecure)...)
			if err != nil {
				return userFault(err)
			}
			if asJSON {
				return inspect.WriteJSONAll(cmd.OutOrStdout(), reports)
			}
			return inspect.WriteTextAll(cmd.OutOrStdout(), reports)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON (a list for an index)")
	cmd.Flags().BoolVar(&insecure, "insecure", false, "talk plain HTTP to the registry")
	return cmd
}
