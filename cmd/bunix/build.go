package main

import (
	"fmt"

	"github.com/nubificus/bunix/internal/buildinfo"
	"github.com/nubificus/bunix/internal/progress"
	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/build"
	"github.com/nubificus/bunix/pkg/image"
	"github.com/nubificus/bunix/pkg/registry"
	"github.com/nubificus/bunix/pkg/urunc"
	"github.com/spf13/cobra"
)

func newBuild(getenv func(string) string) *cobra.Command {
	var file, out, format, sbomFile, release string
	var insecure bool
	cmd := command("build [ARGS] -o IMAGE.tar", "Build an image (docker-archive, oci-archive or OCI layout) from an args file", maxArgs(1),
		"bunix build -o image.tar && docker load < image.tar",
		"bunix build examples/unikraft-initrd/args.nix -o - | docker load",
		"bunix build --format oci-archive -o image.tar --sbom image.spdx.json")
	cmd.Annotations = map[string]string{afterSignal: outputKept}
	cmd.RunE = func(cmd *cobra.Command, argv []string) error {
		file, err := argsFile(cmd, argv, file)
		if err != nil {
			return err
		}
		if out == "" {
			return usageError{fmt.Errorf("build: -o is required (the image tar to write, or - for standard output)")}
		}
		opts, err := build.FromEnv(getenv)
		if err != nil {
			return err
		}
		opts = append(opts, build.WarningsTo(cmd.ErrOrStderr()))
		if insecure {
			opts = append(opts, build.WithRegistryOptions(registry.Insecure()))
		}
		if cmd.Flags().Changed("sbom") && sbomFile == "" {
			return usageError{fmt.Errorf("build: --sbom \"\": give the SBOM's file name, e.g. image.spdx.json, or drop the flag")}
		}
		if sbomFile != "" {
			if sbomFile == "-" {
				return usageError{fmt.Errorf("build: --sbom: the SBOM goes to a file, not standard output")}
			}
			opts = append(opts, build.WithSBOM(sbomFile, "bunix-"+buildinfo.Version(version)))
		}
		if format != "" {
			f, err := image.ParseFormat(format)
			if err != nil {
				return usageError{fmt.Errorf("build: --format: %w", err)}
			}
			opts = append(opts, build.WithFormat(f))
		}
		a, err := loadArgs(cmd, argv, file, getenv)
		if err != nil {
			return err
		}
		if err := applyUrunc(cmd, a, release); err != nil {
			return err
		}
		descs := []*args.Args{a}
		if out == "-" {
			_, err := build.WriteTo(cmd.Context(), cmd.OutOrStdout(), descs, opts...)
			return err
		}
		wrap, done := progress.Bar(progress.Terminal(cmd.OutOrStdout(), cmd.ErrOrStderr()), "writing "+out)
		sums, err := build.Write(cmd.Context(), out, descs, append(opts, build.WithProgress(wrap))...)
		done()
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "bunix: wrote %s\n", out)
		if sbomFile != "" {
			fmt.Fprintf(cmd.ErrOrStderr(), "bunix: wrote the SBOM %s\n", sbomFile)
		}
		if !build.IsOutput(cmd.OutOrStdout(), out) {
			fmt.Fprintln(cmd.OutOrStdout(), sums[0].Ref)
		}
		return nil
	}
	argsFileFlag(cmd, &file)
	cmd.Flags().StringVarP(&out, "output", "o", "", "the image tar (or, for --format oci, directory) to write, or - for standard output")
	cmd.Flags().StringVar(&sbomFile, "sbom", "", "also write an SPDX 2.3 JSON SBOM of the image to this file")
	cmd.Flags().StringVar(&format, "format", "", orList(formatNames())+" (default: the args' format, else docker-archive)")
	insecureFlag(cmd, &insecure)
	completeFlag(cmd, "format", completeWords(func(*cobra.Command) []string { return formatNames() }))
	uruncFlag(cmd, &release, "the args' urunc, else "+urunc.DefaultReleaseName)
	return cmd
}
