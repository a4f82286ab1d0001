package main

import (
	"strings"

	"github.com/nubificus/bunix/pkg/image"
	"github.com/nubificus/bunix/pkg/urunc"
	"github.com/spf13/cobra"
)

// completeFlag registers complete for the values of cmd's flag; a flag
// that does not exist, or one registered twice, is a bug.
func completeFlag(cmd *cobra.Command, flag string, complete cobra.CompletionFunc) {
	if err := cmd.RegisterFlagCompletionFunc(flag, complete); err != nil {
		panic(err)
	}
}

// completeWords completes a flag's value with those of words that begin
// with what was typed, and no file names.
func completeWords(words func(cmd *cobra.Command) []string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, typed string) ([]string, cobra.ShellCompDirective) {
		var out []string
		for _, w := range words(cmd) {
			if strings.HasPrefix(w, typed) {
				out = append(out, w)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeGuests: the guests --hypervisor runs (urunc.GuestsOn).
func completeGuests(cmd *cobra.Command) []string {
	m, _ := cmd.Flags().GetString("hypervisor")
	return urunc.GuestsOn(m)
}

// completeMonitors: the monitors that run --type (urunc.MonitorsOffered).
func completeMonitors(cmd *cobra.Command) []string {
	g, _ := cmd.Flags().GetString("type")
	return urunc.MonitorsOffered(g)
}

// formatNames are the output formats of pkg/image, which --format
// completes with and its help lists.
func formatNames() []string {
	var out []string
	for _, f := range image.Formats() {
		out = append(out, string(f))
	}
	return out
}

// orList lists words for a flag's help: "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// argsExts are the extensions of an image description, which the
// completion of ARGS and -f offers.
var argsExts = []string{"nix", "json", "hcl"}

// completeArgsFile completes ARGS, the one positional of build and validate:
// the files whose extension is a description's.
func completeArgsFile(_ *cobra.Command, argv []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(argv) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return argsExts, cobra.ShellCompDirectiveFilterFileExt
}
