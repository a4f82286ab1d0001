package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nubificus/bunix/internal/filekind"
	"github.com/nubificus/bunix/internal/testenv"
)

// TestBuildSwappedSource: bunix build whose source directory is swapped
// for a link to an outside one (with a file of the same name and size)
// just before the copy exits 1, "changed while the image was written",
// and writes no output, in every format.
func TestBuildSwappedSource(t *testing.T) {
	for _, format := range []string{"docker-archive", "oci-archive", "oci"} {
		t.Run(format, func(t *testing.T) {
			dir := project(t)
			conf := filepath.Join(dir, "conf")
			outside := testenv.Outside(t, "redis.conf", "SECRET!!!\n")
			done := false
			t.Cleanup(filekind.SetBeforeOpen(func(p string) {
				if p == filepath.Join(conf, "redis.conf") && !done {
					done = true
					testenv.SwapForLink(t, conf, outside)
				}
			}))
			out := filepath.Join(t.TempDir(), "image")
			code, _, stderr := cli(t, nil, "build", "-f", filepath.Join(dir, "args.json"), "--format", format, "-o", out)
			if code != 1 || !strings.Contains(stderr, "changed while the image was written") {
				t.Errorf("exit %d, want 1 and a changed source: %s", code, stderr)
			}
			if _, err := os.Lstat(out); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the failed build left %s: %v", out, err)
			}
		})
	}
}
