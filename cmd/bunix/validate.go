package main

import (
	"fmt"

	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/build"
	"github.com/nubificus/bunix/pkg/registry"
	"github.com/nubificus/bunix/pkg/urunc"
	"github.com/spf13/cobra"
)

func newValidate(getenv func(string) string) *cobra.Command {
	var file, release string
	var insecure bool
	cmd := command("validate [ARGS]", "Check an args file without building", maxArgs(1),
		"bunix validate",
		"bunix validate examples/rumprun-block/args.nix")
	cmd.RunE = func(cmd *cobra.Command, argv []string) error {
		file, err := argsFile(cmd, argv, file)
		if err != nil {
			return err
		}
		desc, err := loadArgs(cmd, argv, file, getenv)
		if err != nil {
			return err
		}
		if err := applyUrunc(cmd, desc, release); err != nil {
			return err
		}
		// The environment's options: a base is pulled to be checked.
		opts, err := build.FromEnv(getenv)
		if err != nil {
			return err
		}
		if insecure {
			opts = append(opts, build.WithRegistryOptions(registry.Insecure()))
		}
		sums, err := build.Check(cmd.Context(), []*args.Args{desc}, append(opts, build.WarningsTo(cmd.ErrOrStderr()))...)
		if err != nil {
			return err
		}
		layers := "layers"
		if sums[0].Layers == 1 {
			layers = "layer"
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s: ok: %s, %d %s\n", file, sums[0].Ref, sums[0].Layers, layers)
		return nil
	}
	argsFileFlag(cmd, &file)
	insecureFlag(cmd, &insecure)
	uruncFlag(cmd, &release, "the args' urunc, else "+urunc.DefaultReleaseName)
	return cmd
}
