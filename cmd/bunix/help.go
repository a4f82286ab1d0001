package main

import (
	"embed"
	"strings"

	"github.com/spf13/cobra"
)

// helpFiles holds the long help of each user-facing command,
// help/NAME.txt: prose, kept apart from the code that wires the command.
//
//go:embed help/*.txt
var helpFiles embed.FS

// longHelp returns the long help of the command name, help/NAME.txt; a
// command without one is a bug, which TestLongHelp catches.
func longHelp(name string) string {
	b, err := helpFiles.ReadFile("help/" + name + ".txt")
	if err != nil {
		panic(err)
	}
	return strings.TrimSuffix(string(b), "\n")
}

// command makes a user-facing command: use, its usage line, whose first
// word is its name; short, its one-line summary; args, the check of its
// positional arguments; and examples, one command line each. Its long
// help is help/NAME.txt.
func command(use, short string, args cobra.PositionalArgs, examples ...string) *cobra.Command {
	return &cobra.Command{
		Use:     use,
		Short:   short,
		Long:    longHelp(strings.Fields(use)[0]),
		Example: "  " + strings.Join(examples, "\n  "),
		Args:    args,
	}
}
