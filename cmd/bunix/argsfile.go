package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/nubificus/bunix/internal/msg"
	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/urunc"
	"github.com/spf13/cobra"
)

// defaultArgsFile is the image description a command reads when it is
// given none.
const defaultArgsFile = "args.nix"

// argsFileFlag adds -f/--file, the image description, to cmd: an alias of
// the positional ARGS that build and validate take.
func argsFileFlag(cmd *cobra.Command, file *string) {
	cmd.Flags().StringVarP(file, "file", "f", defaultArgsFile, "the image description: args.nix, args.json or args.hcl (the same as ARGS)")
	completeFlag(cmd, "file", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return argsExts, cobra.ShellCompDirectiveFilterFileExt
	})
	cmd.ValidArgsFunction = completeArgsFile
}

// argsFile returns the image description a command reads: the positional
// ARGS, else -f, else args.nix. A positional and an -f that name two files
// are a usage error, which shows at most 80 bytes of each.
func argsFile(cmd *cobra.Command, a []string, file string) (string, error) {
	if len(a) == 0 {
		return file, nil
	}
	if cmd.Flags().Changed("file") && filepath.Clean(file) != filepath.Clean(a[0]) {
		return "", usageError{fmt.Errorf("%s: two image descriptions, %s and -f %s: give one", cmd.Name(), msg.Quote(a[0], 80), msg.Quote(file, 80))}
	}
	return a[0], nil
}

// loadArgs loads the image description file, which argsFile chose, under
// the evaluation caps the environment (getenv) sets. A description that
// does not exist is the user's mistake; when it is the default, the
// message says how to name or write one.
func loadArgs(cmd *cobra.Command, argv []string, file string, getenv func(string) string) (*args.Args, error) {
	opts, err := args.EvalFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	a, err := args.Load(cmd.Context(), file, opts...)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return a, err
	}
	if len(argv) == 0 && !cmd.Flags().Changed("file") {
		wd, _ := os.Getwd()
		return nil, usageError{fmt.Errorf("%s: no %s in %s: give the image description as ARGS, or write one with bunix init", cmd.Name(), file, wd)}
	}
	return nil, usageError{err}
}

// maxArgs is cobra.MaximumNArgs whose complaint is a usage error.
func maxArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := cobra.MaximumNArgs(n)(cmd, a); err != nil {
			return usageError{fmt.Errorf("%s: %w", cmd.Name(), err)}
		}
		return nil
	}
}

// uruncFlag adds --urunc, the oldest urunc release the image must run on,
// to cmd; def says what the default is.
func uruncFlag(cmd *cobra.Command, release *string, def string) {
	cmd.Flags().StringVar(release, "urunc", "", "the oldest urunc release the image must run on: "+orList(urunc.ReleasedNames())+", or main (default: "+def+")")
	completeFlag(cmd, "urunc", completeWords(func(*cobra.Command) []string { return urunc.ReleaseNames() }))
}

// uruncGiven reports whether cmd was given --urunc release; an unknown
// release is a usage error.
func uruncGiven(cmd *cobra.Command, release string) (bool, error) {
	if !cmd.Flags().Changed("urunc") {
		return false, nil
	}
	if _, err := urunc.ParseRelease(release); err != nil {
		return false, usageError{fmt.Errorf("%s: --urunc: %w", cmd.Name(), err)}
	}
	return true, nil
}

// applyUrunc checks the --urunc flag of cmd and, when it was given, sets it
// on a. An unknown release is a usage error.
func applyUrunc(cmd *cobra.Command, a *args.Args, release string) error {
	given, err := uruncGiven(cmd, release)
	if given {
		a.SetUrunc(release)
	}
	return err
}
