package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/nubificus/bunix/internal/progress"
	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/scaffold"
	"github.com/nubificus/bunix/pkg/urunc"
	"github.com/spf13/cobra"
)

func newInit() *cobra.Command {
	var a scaffold.Answers
	var dir string
	var flake bool
	var format string
	cmd := command("init [flags]", "Write a commented args.nix for a guest and monitor", exactArgs(0),
		"bunix init",
		`bunix init --type unikraft --hypervisor qemu --binary ./kernel --cmdline "/chttp" --env PORT=8080`,
		"bunix init --type rumprun --hypervisor hvt --binary ./redis.hvt --flake")
	cmd.Annotations = map[string]string{afterSignal: outputKept}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if missing := a.Missing(); len(missing) > 0 {
			if !progress.IsTerminal(os.Stdin) {
				return usageError{fmt.Errorf("init: %s required when standard input is not a terminal", strings.Join(missing, ", "))}
			}
			a.Dir = dir // where the kernel is, whose architecture Ask offers
			if err := scaffold.Ask(cmd.InOrStdin(), cmd.ErrOrStderr(), &a); err != nil {
				return fmt.Errorf("init: %w", err)
			}
		}
		written, err := scaffold.WriteInit(a, dir, format, flake)
		if err != nil {
			return err
		}
		for _, p := range written {
			fmt.Fprintln(cmd.OutOrStdout(), p)
		}
		for _, l := range scaffold.NextSteps(dir, "args."+format, flake) {
			fmt.Fprintln(cmd.ErrOrStderr(), l)
		}
		return nil
	}
	f := cmd.Flags()
	f.StringVar(&a.Guest, "type", "", "the unikernel type (guest): "+strings.Join(urunc.Guests, ", "))
	f.StringVar(&a.Monitor, "hypervisor", "", "the monitor: "+strings.Join(urunc.MonitorNames(), ", "))
	f.StringVar(&a.Binary, "binary", "", "the guest kernel file, relative to --dir")
	f.StringVar(&a.Initrd, "initrd", "", "an initrd file to package, relative to --dir")
	f.StringVar(&a.Architecture, "architecture", "", "the image's architecture: "+strings.Join(urunc.ArchitectureNames, ", ")+" (default: the kernel's own when bunix can tell it, else "+args.DefaultArchitecture+")")
	f.StringVar(&a.Cmdline, "cmdline", "", "the guest command line")
	f.StringArrayVar(&a.Env, "env", nil, "a NAME=value of the guest's environment (repeat for more)")
	f.StringVar(&a.Name, "name", "", `the image name (default "local/" and the directory's name)`)
	f.StringVar(&a.Tag, "tag", "latest", "the image tag")
	f.StringVar(&dir, "dir", ".", "where to write args.nix")
	f.StringVar(&format, "format", "nix", "write args.nix, args.json or args.hcl: nix, json or hcl (json and hcl build without Nix)")
	f.BoolVar(&flake, "flake", false, "also write a flake.nix that builds args.nix with bunix's lib")
	completeFlag(cmd, "type", completeWords(completeGuests))
	completeFlag(cmd, "hypervisor", completeWords(completeMonitors))
	return cmd
}

func newConvert(getenv func(string) string) *cobra.Command {
	var out, format, name, tag, release string
	var insecure bool
	cmd := command("convert FILE", "Turn a bunnyfile or a pun/bunny Containerfile into an args.nix", exactArgs(1),
		"bunix convert Containerfile -o args.nix",
		"bunix convert bunnyfile --name urunc/redis --tag test")
	cmd.Annotations = map[string]string{afterSignal: outputKept}
	cmd.RunE = func(cmd *cobra.Command, argv []string) error {
		pinned := func(ref string, b scaffold.Base) {
			fmt.Fprintf(cmd.ErrOrStderr(), "bunix: convert: pinned %s to %s (its digest today), hash %s\n", ref, b.Digest, b.Hash)
		}
		ropts, err := registryOptions(getenv, insecure)
		if err != nil {
			return err
		}
		opts := []scaffold.ConvertOption{scaffold.WithPrefetch(cmd.Context(), pinned, insecure, ropts...),
			scaffold.WithWarnings(func(w string) { fmt.Fprintln(cmd.ErrOrStderr(), "bunix: warning: "+w) })}
		if given, err := uruncGiven(cmd, release); err != nil {
			return err
		} else if given {
			opts = append(opts, scaffold.WithUrunc(release))
		}
		nix, err := scaffold.ConvertFile(argv[0], out, format, name, tag, opts...)
		if err != nil {
			return fmt.Errorf("convert: %w", err)
		}
		if out == "" || out == "-" {
			_, err := cmd.OutOrStdout().Write(nix)
			return err
		}
		return scaffold.WriteNew(map[string][]byte{out: nix})
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "the description to write, in the format its name ends in: .nix, .json or .hcl (default: standard output)")
	cmd.Flags().StringVar(&format, "format", "", "the format on standard output: nix, json or hcl (json and hcl build without Nix) (default nix)")
	cmd.Flags().StringVar(&name, "name", "", `the image name (default "local/" and the source directory's name)`)
	cmd.Flags().StringVar(&tag, "tag", "latest", "the image tag")
	insecureFlag(cmd, &insecure)
	uruncFlag(cmd, &release, "no urunc field, which means "+urunc.DefaultReleaseName)
	return cmd
}
