package main

import (
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestLongHelp: every user-facing command has its long help in
// help/NAME.txt, and every file there is some command's.
func TestLongHelp(t *testing.T) {
	var used []string
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if !c.Hidden {
			if c.Long == "" || c.Long != longHelp(c.Name()) {
				t.Errorf("bunix %s: Long is not help/%s.txt", c.Name(), c.Name())
			}
			used = append(used, "help/"+c.Name()+".txt")
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRoot(nil))
	files, err := fs.Glob(helpFiles, "help/*")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(used)
	if !slices.Equal(files, used) {
		t.Errorf("help files %q, commands %q", files, used)
	}
	for _, f := range files {
		if b, _ := fs.ReadFile(helpFiles, f); strings.HasSuffix(string(b), "\n\n") || !strings.HasSuffix(string(b), "\n") {
			t.Errorf("%s does not end in exactly one newline", f)
		}
	}
}
