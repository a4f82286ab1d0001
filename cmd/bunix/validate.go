package main

import (
	"fmt"
	"time"

	"github.com/nubificus/bunix/pkg/args"
	"github.com/spf13/cobra"
)

func newValidate() *cobra.Command {
	return &cobra.Command{
		Use:   "validate ARGS",
		Short: "Check an args file without building",
		Long: `Validate reads an image description and reports every problem in it: bad
fields and values, sources that are missing, targets that collide, and
binary, initrd or block paths that no copied file provides, and a rootfs
that cannot be built. It builds that rootfs in a temporary directory, which
it removes, and writes nothing else.`,
		Example: `  bunix validate args.nix
  bunix validate examples/hello/args.hcl`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, a []string) error {
			desc, err := args.Load(cmd.Context(), a[0])
			if err != nil {
				return err
			}
			img, _, done, err := resolveImage(desc, time.Time{}, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			done()
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok: %s, %d layers\n", a[0], img.RepoTags[0], len(img.Layers))
			return nil
		},
	}
}
