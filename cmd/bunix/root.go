package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/nubificus/bunix/internal/buildinfo"
	"github.com/nubificus/bunix/internal/msg"
	"github.com/nubificus/bunix/pkg/build"
	"github.com/nubificus/bunix/pkg/nixbuild"
	"github.com/nubificus/bunix/pkg/scaffold"
	"github.com/spf13/cobra"
)

// Exit codes.
const (
	exitOK = 0
	// exitFailure: something failed while working on good input.
	exitFailure = 1
	// exitBadInput: the command line or the image description was wrong.
	exitBadInput = 2
)

// version is stamped at build time with -ldflags "-X main.version=..."
// (make bunix does); buildinfo.Version falls back on the module's build info.
var version = "dev"

// usageError marks a command-line mistake.
type usageError struct{ error }

// afterSignal is the annotation of a command that says, after "stopped
// by SIGNAL", what the signal left behind: only a command that writes a
// file or boots a guest has something to say.
const afterSignal = "bunix/after-signal"

// Notes for afterSignal.
const (
	outputKept   = "what was at the output is left as it was"
	guestStopped = "the guest was stopped"
)

// signalError is the cause of a context cancelled by a signal.
type signalError struct{ sig syscall.Signal }

func (e signalError) Error() string { return "stopped by " + e.sig.String() }

// run executes the command line args and returns the exit code: 128 plus
// the signal's number when ctx was cancelled by one (130 for SIGINT), 1
// for a panic, which is a bug. getenv is the one way commands see the
// environment.
func run(ctx context.Context, argv []string, stdout, stderr io.Writer, getenv func(string) string) (code int) {
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(stderr, "bunix: internal error (please report it): %v\n%s", p, debug.Stack())
			code = exitFailure
		}
	}()
	root := newRoot(getenv)
	root.SetArgs(argv)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	var se signalError
	if errors.As(context.Cause(ctx), &se) {
		note := ""
		if cmd != nil && cmd.Annotations[afterSignal] != "" {
			note = "; " + cmd.Annotations[afterSignal]
		}
		fmt.Fprintf(stderr, "bunix: %v%s\n", se, note)
		return 128 + int(se.sig)
	}
	// A joined error is one problem per line.
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			fmt.Fprintln(stderr, "bunix: "+msg.Lines(e.Error()))
		}
	} else {
		fmt.Fprintln(stderr, "bunix: "+msg.Lines(err.Error()))
	}
	// Bad input: a usage error, or what a package reports as the user's
	// (a description, an output path, a file to convert, an init answer or
	// a Nix builder's environment).
	var ue usageError
	var bad *scaffold.Error
	if errors.As(err, &ue) || errors.As(err, &bad) || build.IsUserError(err) || nixbuild.IsUsageError(err) {
		return exitBadInput
	}
	return exitFailure
}

func newRoot(getenv func(string) string) *cobra.Command {
	root := &cobra.Command{
		Use:           "bunix",
		Short:         "Package unikernels as container images for urunc",
		Long:          longHelp("bunix"),
		Version:       buildinfo.Version(version),
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.ArbitraryArgs,
		RunE:          unknownCommand,
		// Two edits away: "buidl" is build, "valdate" validate.
		SuggestionsMinimumDistance: 2,
	}
	root.AddCommand(newBuild(getenv), newValidate(getenv), newInspect(getenv), newPush(getenv), newRun(getenv), newVerify(getenv), newInit(), newConvert(getenv), newPrefetch(getenv))
	root.AddCommand(newNixBuilders(getenv)...)
	return root
}

// newNixBuilders makes each of pkg/nixbuild's builders, what nix/lib.nix's
// derivations run, a hidden command.
func newNixBuilders(getenv func(string) string) []*cobra.Command {
	var cmds []*cobra.Command
	for i := range nixbuild.Builders {
		b := &nixbuild.Builders[i]
		cmds = append(cmds, &cobra.Command{
			Use:     strings.Join(append([]string{b.Name}, b.Args...), " "),
			Short:   b.Short,
			Long:    b.Long,
			Example: b.Example,
			Hidden:  true,
			// Run checks them, naming each.
			Args: cobra.ArbitraryArgs,
			RunE: func(cmd *cobra.Command, a []string) error {
				return b.Run(cmd.Context(), getenv, a, cmd.OutOrStdout(), cmd.ErrOrStderr())
			},
		})
	}
	return cmds
}

// unknownCommand runs when no subcommand matched: with no words it shows
// the help, otherwise the first word is a mistyped or unknown command, a
// usage error that suggests the nearest commands.
func unknownCommand(cmd *cobra.Command, a []string) error {
	if len(a) == 0 {
		return cmd.Help()
	}
	msg := fmt.Sprintf("unknown command %q", a[0])
	if s := cmd.SuggestionsFor(a[0]); len(s) > 0 {
		msg += ": did you mean " + strings.Join(s, " or ") + "?"
	}
	return usageError{errors.New(msg + " (bunix --help lists the commands)")}
}

// exactArgs is cobra.ExactArgs whose complaint is a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := cobra.ExactArgs(n)(cmd, a); err != nil {
			return usageError{err}
		}
		return nil
	}
}
