package scaffold

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nubificus/bunix/internal/filekind"
	"github.com/nubificus/bunix/internal/testenv"
)

// TestConvertSwappedSource: a source of ADD that convert checked and then
// reads (to tell an archive) is swapped for a link, to a file outside the
// build context or to another inside it, just before the read: convert
// fails with a *filekind.ChangedError ("changed while the build context
// was read") rather than judge the source by another file's bytes.
func TestConvertSwappedSource(t *testing.T) {
	gz := append([]byte{0x1f, 0x8b}, bytes.Repeat([]byte{0}, 598)...)
	for _, inside := range []bool{false, true} {
		name := "outside"
		if inside {
			name = "inside"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "Containerfile")
			src := []byte("FROM scratch\nADD packed /unikernel/kernel\n")
			if err := os.WriteFile(file, src, 0o644); err != nil {
				t.Fatal(err)
			}
			packed := filepath.Join(dir, "packed")
			if err := os.WriteFile(packed, bytes.Repeat([]byte("k"), 600), 0o644); err != nil {
				t.Fatal(err)
			}
			target := filepath.Join(testenv.Outside(t, "other", string(gz)), "other")
			if inside {
				target = filepath.Join(dir, "other")
				if err := os.WriteFile(target, gz, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := Convert(src, file, dir, "x", "latest"); err != nil {
				t.Fatalf("Convert before the swap: %v", err)
			}
			done := false
			t.Cleanup(filekind.SetBeforeOpen(func(p string) {
				if p == packed && !done {
					done = true
					testenv.SwapForLink(t, packed, target)
				}
			}))
			_, err := Convert(src, file, dir, "x", "latest")
			var ce *filekind.ChangedError
			if !done || !errors.As(err, &ce) || !strings.Contains(err.Error(), `Containerfile:2: ADD "packed": `+packed+" changed while the build context was read") {
				t.Errorf("Convert with packed swapped for a link to %s = %v, want a *filekind.ChangedError", target, err)
			}
		})
	}
}
