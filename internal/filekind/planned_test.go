package filekind

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestOpenPlanned opens a planned file below its root, with openat2 and
// with the walk of O_NOFOLLOW opens that stands in for it on old kernels:
// the file as planned opens; one swapped for a link (to a file outside of
// the same size), below a directory swapped for a link, or replaced by
// another file is a *ChangedError.
func TestOpenPlanned(t *testing.T) {
	for _, missing := range []bool{false, true} {
		name := "openat2"
		if missing {
			name = "nofollow-walk"
		}
		t.Run(name, func(t *testing.T) {
			defer openat2Missing.Store(openat2Missing.Load())
			openat2Missing.Store(missing)
			for _, tc := range []struct {
				name    string
				swap    func(root, file, outside string) error
				changed bool
			}{
				{"unchanged", func(string, string, string) error { return nil }, false},
				{"file-to-link", func(_, file, outside string) error {
					os.Remove(file)
					return os.Symlink(filepath.Join(outside, "f"), file)
				}, true},
				{"dir-to-link", func(root, _, outside string) error {
					os.RemoveAll(filepath.Join(root, "d"))
					return os.Symlink(outside, filepath.Join(root, "d"))
				}, true},
				{"another-file", func(_, file, outside string) error {
					return os.Rename(filepath.Join(outside, "f"), file)
				}, true},
			} {
				t.Run(tc.name, func(t *testing.T) {
					root, outside := t.TempDir(), t.TempDir()
					file := filepath.Join(root, "d", "f")
					os.Mkdir(filepath.Dir(file), 0o755)
					if err := os.WriteFile(file, []byte("planned"), 0o644); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(filepath.Join(outside, "f"), []byte("outside"), 0o644); err != nil {
						t.Fatal(err)
					}
					fi, err := os.Lstat(file)
					if err != nil {
						t.Fatal(err)
					}
					if err := tc.swap(root, file, outside); err != nil {
						t.Fatal(err)
					}
					f, err := OpenPlannedFile(root, file, IDOf(fi))
					var ce *ChangedError
					if tc.changed {
						if !errors.As(err, &ce) {
							t.Fatalf("OpenPlanned = %v, want a *ChangedError", err)
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					defer f.Close()
					if data, _ := io.ReadAll(f); string(data) != "planned" {
						t.Errorf("read %q", data)
					}
				})
			}
		})
	}
}

// TestOpenPlannedRootIsNotFollowed: a root whose own path now passes
// through a link is refused, and so is a name not below the root.
func TestOpenPlannedRootIsNotFollowed(t *testing.T) {
	base := t.TempDir()
	real := filepath.Join(base, "real")
	os.Mkdir(real, 0o755)
	file := filepath.Join(real, "f")
	os.WriteFile(file, []byte("x"), 0o644)
	fi, _ := os.Lstat(file)
	link := filepath.Join(base, "link")
	os.Symlink(real, link)
	var ce *ChangedError
	if _, err := OpenPlanned(link, filepath.Join(link, "f"), IDOf(fi)); !errors.As(err, &ce) {
		t.Errorf("OpenPlanned through a linked root = %v, want a *ChangedError", err)
	}
	if _, err := OpenPlanned(real, filepath.Join(base, "other"), IDOf(fi)); err == nil {
		t.Error("OpenPlanned of a name outside its root succeeded")
	}
	if _, err := OpenPlanned(real, file, ID{}); err == nil {
		t.Error("OpenPlanned with no planned ID succeeded")
	}
}
