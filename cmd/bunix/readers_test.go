package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestPushInspectBadInput: a reference that does not parse, a missing
// file and a FIFO given as the image are bad input, exit 2, and the FIFO
// is refused without blocking.
func TestPushInspectBadInput(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "image.tar")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		argv []string
		want string
	}{
		{[]string{"push", fifo, "Not A Ref"}, "not a valid image reference"},
		{[]string{"push", filepath.Join(dir, "missing"), "127.0.0.1:1/x:1"}, "no such file"},
		{[]string{"push", fifo, "127.0.0.1:1/x:1"}, "is not a regular file but a FIFO"},
		{[]string{"inspect", fifo}, "is not a regular file but a FIFO"},
		{[]string{"inspect", "Not A Ref"}, "not a valid image reference"},
	} {
		code, _, stderr := cli(t, nil, tc.argv...)
		if code != exitBadInput || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tc.argv, code, stderr, exitBadInput, tc.want)
		}
	}
	if _, err := os.Stat(fifo); err != nil {
		t.Error(err)
	}
}
