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

// TestBuildSwappedSource: bunix build whose source, the directory copied
// or the file copied alone, is swapped for a link to an outside one (a
// file of the same name and size) just before the copy exits 1, "changed
// while the image was written", and writes no output, in every format.
func TestBuildSwappedSource(t *testing.T) {
	for _, format := range []string{"docker-archive", "oci-archive", "oci"} {
		for _, what := range []string{"dir", "file"} {
			t.Run(format+"/"+what, func(t *testing.T) {
				dir := project(t)
				victim, opened := filepath.Join(dir, "conf"), filepath.Join(dir, "conf", "redis.conf")
				outside := testenv.Outside(t, "redis.conf", "SECRET!!!\n")
				target := outside
				if what == "file" {
					victim, opened = filepath.Join(dir, "kernel"), filepath.Join(dir, "kernel")
					target = filepath.Join(testenv.Outside(t, "key", "\x7fELF not really a secret"), "key")
				}
				done := false
				t.Cleanup(filekind.SetBeforeOpen(func(p string) {
					if p == opened && !done {
						done = true
						testenv.SwapForLink(t, victim, target)
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
}
