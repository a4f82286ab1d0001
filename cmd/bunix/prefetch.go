package main

import (
	"fmt"
	"strings"

	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/registry"
	"github.com/nubificus/bunix/pkg/urunc"
	"github.com/spf13/cobra"
)

func newPrefetch(getenv func(string) string) *cobra.Command {
	var arch string
	cmd := command("prefetch REF", "Print the from = { ref; digest; hash; } that pins a registry image", exactArgs(1),
		"bunix prefetch unikraft.org/nginx:1.15",
		"bunix prefetch --arch arm64 registry.example.com/team/app:v2")
	cmd.RunE = func(cmd *cobra.Command, a []string) error {
		goArch, ok := urunc.Architectures[arch]
		if !ok {
			return usageError{fmt.Errorf("prefetch: --arch = %q: unknown architecture (known: %s)", arch, strings.Join(urunc.ArchitectureNames, ", "))}
		}
		ref, err := registry.RefOnly(a[0])
		if err != nil {
			return usageError{fmt.Errorf("prefetch: %w", err)}
		}
		opts, err := registryOptions(getenv, false)
		if err != nil {
			return err
		}
		p, err := registry.Prefetch(cmd.Context(), ref, goArch, "", opts...)
		if err != nil {
			return userFault(err)
		}
		if goArch != args.DefaultArchitecture {
			fmt.Fprintf(cmd.OutOrStdout(), "# the hash is that of the %s image: set architecture = %q beside from\n", goArch, goArch)
		}
		fmt.Fprint(cmd.OutOrStdout(), p.Nix())
		return nil
	}
	cmd.Flags().StringVar(&arch, "arch", args.DefaultArchitecture, "the architecture of the image to hash: "+orList(urunc.ArchitectureNames))
	return cmd
}
