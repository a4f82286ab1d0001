package main

import (
	"fmt"
	"os"

	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/build"
	"github.com/spf13/cobra"
)

func newNixBuilder(getenv func(string) string) *cobra.Command {
	return &cobra.Command{
		Use:    "nix-builder",
		Short:  "Be the builder of a derivation made by nix/lib.nix",
		Hidden: true,
		Long: `nix-builder is what nix/lib.nix's buildImage runs inside the Nix sandbox: it
reads the JSON spec from the file named by $specPath (passAsFile) and writes
the image tar to $out.`,
		Example: `  builtins.derivation { builder = "${bunix}/bin/bunix"; args = [ "nix-builder" ]; ... }`,
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			specPath, out := getenv("specPath"), getenv("out")
			if specPath == "" || out == "" {
				return usageError{fmt.Errorf("nix-builder: $specPath and $out must be set: this command runs inside a derivation made by nix/lib.nix")}
			}
			opts, err := buildOptions(getenv, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			spec, err := os.ReadFile(specPath)
			if err != nil {
				return fmt.Errorf("reading the builder spec: %w", err)
			}
			descs, err := args.DecodeSpec(spec)
			if err != nil {
				return err
			}
			// Temporary files go to $TMPDIR, the build directory, not the
			// store.
			_, err = build.Write(cmd.Context(), out, descs, append(opts, build.WithTempDir(os.TempDir()))...)
			return err
		},
	}
}

func newNixScript(getenv func(string) string) *cobra.Command {
	return &cobra.Command{
		Use:    "nix-script",
		Short:  "Be the builder of a script derivation made by nix/lib.nix",
		Hidden: true,
		Long: `nix-script is the builder nix/lib.nix's pushScript runs: it writes the text
in the file named by $textPath (passAsFile) to $out as an executable.`,
		Example: `  builtins.derivation { builder = "${bunix}/bin/bunix"; args = [ "nix-script" ]; text = "..."; passAsFile = [ "text" ]; ... }`,
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			textPath, out := getenv("textPath"), getenv("out")
			if textPath == "" || out == "" {
				return usageError{fmt.Errorf("nix-script: $textPath and $out must be set: this command runs inside a derivation made by nix/lib.nix")}
			}
			text, err := os.ReadFile(textPath)
			if err != nil {
				return fmt.Errorf("reading the script text: %w", err)
			}
			if err := os.WriteFile(out, text, 0o755); err != nil {
				return fmt.Errorf("writing %s: %w", out, err)
			}
			return nil
		},
	}
}
