package image

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

// secret is an outside file's content, as long as the planned conf/app.conf
// ("port 6379\n"): a writer that checks only sizes would copy it.
const secret = "SECRET!!!\n"

// swapCase is one way a planned source is swapped for a link to an
// outside file of the same size: the file itself, or the directory above
// it, after the plan (before the write starts) or just before the writer
// opens it (filekind's hook).
type swapCase struct {
	name   string
	dir    bool // swap conf/ rather than conf/app.conf
	atOpen bool
}

var swapCases = []swapCase{
	{"file/before-write", false, false},
	{"file/at-open", false, true},
	{"dir/before-write", true, false},
	{"dir/at-open", true, true},
}

// plannedSwap plans dir (kernel and conf/app.conf) for an image, then
// swaps as tc says and returns the entries.
func plannedSwap(t *testing.T, tc swapCase) []Entry {
	t.Helper()
	dir := tree(t, [][2]string{{"kernel", "\x7fELF kernel"}, {"conf/app.conf", "port 6379\n"}})
	outside := testenv.Outside(t, "app.conf", secret)
	entries, err := FromPath(dir, "/app")
	if err != nil {
		t.Fatal(err)
	}
	victim, target := filepath.Join(dir, "conf", "app.conf"), filepath.Join(outside, "app.conf")
	if tc.dir {
		victim, target = filepath.Join(dir, "conf"), outside
	}
	swap := func() { testenv.SwapForLink(t, victim, target) }
	if !tc.atOpen {
		swap()
		return entries
	}
	conf := filepath.Join(dir, "conf", "app.conf")
	done := false
	t.Cleanup(filekind.SetBeforeOpen(func(p string) {
		if p == conf && !done {
			done = true
			swap()
		}
	}))
	return entries
}

// TestSwappedSourceIsRefused: a source file, or its directory, swapped for
// a symlink to an outside file of the same size between the plan and the
// copy is refused in every format ("changed while the image was
// written"), and the outside bytes are in no output.
func TestSwappedSourceIsRefused(t *testing.T) {
	for _, f := range []Format{DockerArchive, OCIArchive, OCILayout} {
		for _, tc := range swapCases {
			t.Run(string(f)+"/"+tc.name, func(t *testing.T) {
				entries := plannedSwap(t, tc)
				img := &Image{Architecture: "amd64", RepoTags: []string{"x:latest"}, Layers: []Layer{{Entries: entries}}}
				out := filepath.Join(t.TempDir(), "out")
				err := WritePath(out, []*Image{img}, WithFormat(f), WithCompression(Uncompressed))
				var ce *filekind.ChangedError
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), "changed while the image was written") {
					t.Fatalf("WritePath = %v, want a *filekind.ChangedError", err)
				}
				if _, err := os.Lstat(out); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("the failed write left %s: %v", out, err)
				}
				var buf bytes.Buffer
				if f != OCILayout {
					Write(&buf, []*Image{img}, WithFormat(f), WithCompression(Uncompressed))
					if bytes.Contains(buf.Bytes(), []byte(secret)) {
						t.Errorf("the outside file's bytes are in the %s stream", f)
					}
				}
			})
		}
	}
}

// TestFromPathFollowsNoLinkBelow: a directory below the source that is a
// symlink is planned as a symlink, never walked, and a source file's Root
// and ID are where and what FromPath found.
func TestFromPathFollowsNoLinkBelow(t *testing.T) {
	dir := tree(t, [][2]string{{"kernel", "k"}})
	outside := testenv.Outside(t, "app.conf", secret)
	if err := os.Symlink(outside, filepath.Join(dir, "conf")); err != nil {
		t.Fatal(err)
	}
	entries, err := FromPath(dir, "/x")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		switch e.Path {
		case "/x/conf":
			if e.Type != Symlink || e.Linkname != outside {
				t.Errorf("conf planned as %+v, want a symlink to %s", e, outside)
			}
		case "/x/kernel":
			fi, err := os.Lstat(filepath.Join(dir, "kernel"))
			if err != nil {
				t.Fatal(err)
			}
			if e.Root != dir || e.ID != filekind.IDOf(fi) {
				t.Errorf("kernel planned with root %s and %v, want %s and %v", e.Root, e.ID, dir, filekind.IDOf(fi))
			}
		case "/x":
		default:
			t.Errorf("unexpected entry %s", e.Path)
		}
	}
}
