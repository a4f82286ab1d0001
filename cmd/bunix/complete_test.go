package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/image"
	"github.com/nubificus/bunix/pkg/urunc"
	"github.com/spf13/cobra"
)

// complete runs cobra's hidden __complete command on argv and returns the
// completions and the directive line.
func complete(t *testing.T, argv ...string) (words []string, directive string) {
	t.Helper()
	code, stdout, stderr := cli(t, nil, append([]string{"__complete"}, argv...)...)
	if code != 0 {
		t.Fatalf("__complete %q: exit %d: %s", argv, code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	return lines[:len(lines)-1], lines[len(lines)-1]
}

// TestCompleteFlagValues: --type, --hypervisor and --format complete with
// the values pkg/urunc and pkg/image know, narrowed by what was typed and,
// for init, by the other of the two flags.
func TestCompleteFlagValues(t *testing.T) {
	var formats []string
	for _, f := range image.Formats() {
		formats = append(formats, string(f))
	}
	var onHvt []string
	for _, g := range urunc.Guests {
		if urunc.Runs(g, "hvt") {
			onHvt = append(onHvt, g)
		}
	}
	const noFiles = ":4" // cobra.ShellCompDirectiveNoFileComp
	for _, tc := range []struct {
		argv []string
		want []string
	}{
		{[]string{"init", "--type", ""}, urunc.Guests},
		{[]string{"init", "--type", "uni"}, []string{"unikraft"}},
		{[]string{"init", "--hypervisor", "hvt", "--type", ""}, onHvt},
		{[]string{"init", "--hypervisor", ""}, urunc.MonitorNames()},
		{[]string{"init", "--hypervisor", "no-such", "--type", ""}, urunc.Guests},
		{[]string{"init", "--type", "linux", "--hypervisor", ""}, urunc.MonitorsFor("linux")},
		{[]string{"build", "--format", ""}, formats},
		{[]string{"build", "--format", "oci"}, []string{"oci-archive", "oci"}},
		{[]string{"build", "args.nix", "-o", "x.tar", "--format", "d"}, []string{"docker-archive"}},
	} {
		words, directive := complete(t, tc.argv...)
		if !slices.Equal(words, tc.want) || directive != noFiles {
			t.Errorf("__complete %q = %q %s, want %q %s", tc.argv, words, directive, tc.want, noFiles)
		}
	}
	if len(onHvt) == 0 || len(urunc.MonitorsFor("linux")) == len(urunc.MonitorNames()) {
		t.Error("the narrowing cases narrow nothing")
	}
}

// TestCompleteArgsFile: ARGS and -f complete with the files a description
// can be; a second ARGS with nothing.
func TestCompleteArgsFile(t *testing.T) {
	const filterExt = ":8" // cobra.ShellCompDirectiveFilterFileExt
	for _, argv := range [][]string{{"build", ""}, {"validate", ""}, {"build", "-f", ""}, {"validate", "--file", ""}} {
		if words, directive := complete(t, argv...); !slices.Equal(words, argsExts) || directive != filterExt {
			t.Errorf("__complete %q = %q %s", argv, words, directive)
		}
	}
	if words, directive := complete(t, "validate", "args.nix", ""); len(words) != 0 || directive != ":4" {
		t.Errorf("__complete validate args.nix '' = %q %s, want nothing", words, directive)
	}
}

// examplePath is a path in the repository's examples directory, as help
// texts write it.
var examplePath = regexp.MustCompile(`examples/[^\s'"|;&()<>]+`)

// TestHelpExamples: every examples/... path that a help text names exists,
// and the args files among them validate.
func TestHelpExamples(t *testing.T) {
	var paths []string
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		for _, p := range examplePath.FindAllString(c.Example+"\n"+c.Long, -1) {
			if _, err := os.Stat(filepath.Join("..", "..", p)); err != nil {
				t.Errorf("bunix %s --help names %s: %v", c.Name(), p, err)
			}
			paths = append(paths, p)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRoot(nil))
	if len(paths) == 0 {
		t.Fatal("no help text names an example: the test checks nothing")
	}
	t.Run("validate", func(t *testing.T) {
		testenv.Require(t, "nix-instantiate")
		t.Chdir(filepath.Join("..", ".."))
		for _, p := range paths {
			if strings.HasPrefix(filepath.Base(p), "args.") {
				if code, _, stderr := cli(t, nil, "validate", p); code != 0 {
					t.Errorf("validate %s: exit %d: %s", p, code, stderr)
				}
			}
		}
	})
}

// TestOrList: a flag's help lists one, two or more words.
func TestOrList(t *testing.T) {
	for words, want := range map[string]string{"": "", "a": "a", "a b": "a or b", "a b c": "a, b or c"} {
		if got := orList(strings.Fields(words)); got != want {
			t.Errorf("orList(%q) = %q, want %q", words, got, want)
		}
	}
}
