package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/nubificus/bunix/pkg/inspect"
	"github.com/nubificus/bunix/pkg/registry"
	"github.com/spf13/cobra"
)

func newInspect() *cobra.Command {
	var asJSON, insecure bool
	cmd := &cobra.Command{
		Use:   "inspect IMAGE",
		Short: "Show what is in an image, as urunc will see it",
		Long: `Inspect reads an image, a file (docker-archive, oci-archive or OCI layout
directory) or, when IMAGE is no file, a reference to a registry, and shows
its names, digest, platform, creation time and process args, /urunc.json
decoded from base64, the file tree, the layers, the labels and the manifest
annotations. Every layer is read once and checked against the config's
diffIDs. An index (multi-arch) gives one report per image.`,
		Example: `  bunix inspect result
  bunix inspect --json image.tar | jq .urunc
  bunix inspect --insecure 127.0.0.1:5000/urunc/redis:test`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			reports, err := inspectImage(cmd.Context(), a[0], insecure)
			if err != nil {
				return userFault(err)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				if len(reports) == 1 {
					return reports[0].WriteJSON(out)
				}
				return inspect.WriteJSONList(out, reports)
			}
			for i, r := range reports {
				if i > 0 {
					fmt.Fprintln(out)
				}
				if err := r.WriteText(out); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON (a list for an index)")
	cmd.Flags().BoolVar(&insecure, "insecure", false, "talk plain HTTP to the registry")
	return cmd
}

// inspectImage reads image, a file or, when no file is there, a reference
// to a registry: one report for each image.
func inspectImage(ctx context.Context, image string, insecure bool) ([]*inspect.Report, error) {
	if _, err := os.Stat(image); err == nil {
		return inspect.Path(image)
	}
	var opts []registry.Option
	if insecure {
		opts = append(opts, registry.Insecure())
	}
	imgs, err := registry.Get(ctx, image, opts...)
	if errors.Is(err, registry.ErrBadReference) {
		return nil, fmt.Errorf("inspecting %q: not a file, and %w", image, err)
	}
	if err != nil {
		return nil, err
	}
	var out []*inspect.Report
	for _, img := range imgs {
		r, err := inspect.Image(img, []string{image})
		if err != nil {
			return nil, fmt.Errorf("inspecting %s: %w", image, err)
		}
		out = append(out, r)
	}
	return out, nil
}
