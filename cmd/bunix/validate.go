package main

import (
	"fmt"

	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/build"
	"github.com/spf13/cobra"
)

func newValidate() *cobra.Command {
	return &cobra.Command{
		Use:   "validate ARGS",
		Short: "Check an args file without building",
		Long: `Validate reads an image description and reports every problem in it: bad
fields and values, sources that are missing, targets that collide, and
binary, initrd or block paths that no copied file provides, and a rootfs
that cannot be built. It builds that rootfs in an unnamed temporary file,
which goes when it ends, and writes nothing else.`,
		Example: `  bunix validate args.nix
  bunix validate examples/hello/args.hcl`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			desc, err := args.Load(cmd.Context(), a[0])
			if err != nil {
				return err
			}
			sums, err := build.Check(cmd.Context(), []*args.Args{desc}, warnings(cmd.ErrOrStderr()))
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok: %s, %d layers\n", a[0], sums[0].Ref, sums[0].Layers)
			return nil
		},
	}
}
