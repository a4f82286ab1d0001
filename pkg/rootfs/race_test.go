package rootfs

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nubificus/bunix/internal/filekind"
	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/image"
)

// secret is an outside file's content, as long as the planned
// conf/redis.conf ("port 6379\n"): a writer that checks only sizes would
// copy it.
const secret = "SECRET!!!\n"

// TestSwappedSourceIsRefused: a source file of a rootfs, or its directory,
// swapped for a symlink to an outside file of the same size between the
// plan and the copy (before the write, or just before the writer opens
// it) is refused by the initrd and the ext writers alike, and the outside
// bytes are in no image.
func TestSwappedSourceIsRefused(t *testing.T) {
	writers := map[string]func(w *bytes.Buffer, tree []image.Entry) error{
		"initrd": func(w *bytes.Buffer, tree []image.Entry) error {
			return WriteInitrd(w, tree, InitrdOptions{MTime: mtime})
		},
		"ext4": func(w *bytes.Buffer, tree []image.Entry) error {
			x, err := PlanExt(tree, ExtOptions{FSType: "ext4", MTime: mtime})
			if err != nil {
				t.Fatal(err)
			}
			return x.Write(&bufferAt{b: w})
		},
	}
	for name, write := range writers {
		for _, dirSwap := range []bool{false, true} {
			for _, atOpen := range []bool{false, true} {
				t.Run(fmtCase(name, dirSwap, atOpen), func(t *testing.T) {
					dir := t.TempDir()
					conf := filepath.Join(dir, "conf", "redis.conf")
					os.MkdirAll(filepath.Dir(conf), 0o755)
					if err := os.WriteFile(conf, []byte("port 6379\n"), 0o644); err != nil {
						t.Fatal(err)
					}
					outside := testenv.Outside(t, "redis.conf", secret)
					tree := sampleTree(t, dir)
					victim, target := conf, filepath.Join(outside, "redis.conf")
					if dirSwap {
						victim, target = filepath.Dir(conf), outside
					}
					if atOpen {
						done := false
						t.Cleanup(filekind.SetBeforeOpen(func(p string) {
							if p == conf && !done {
								done = true
								testenv.SwapForLink(t, victim, target)
							}
						}))
					} else {
						testenv.SwapForLink(t, victim, target)
					}
					var out bytes.Buffer
					err := write(&out, tree)
					var ce *filekind.ChangedError
					if !errors.As(err, &ce) || !strings.Contains(err.Error(), "changed while the image was written") {
						t.Errorf("writing the %s = %v, want a *filekind.ChangedError", name, err)
					}
					if bytes.Contains(out.Bytes(), []byte(secret)) {
						t.Errorf("the outside file's bytes are in the %s", name)
					}
				})
			}
		}
	}
}

func fmtCase(writer string, dir, atOpen bool) string {
	what, when := "file", "before-write"
	if dir {
		what = "dir"
	}
	if atOpen {
		when = "at-open"
	}
	return writer + "/" + what + "/" + when
}

// bufferAt is an io.WriterAt over a bytes.Buffer's bytes.
type bufferAt struct{ b *bytes.Buffer }

func (w *bufferAt) WriteAt(p []byte, off int64) (int, error) {
	if end := off + int64(len(p)); end > int64(w.b.Len()) {
		w.b.Write(make([]byte, end-int64(w.b.Len())))
	}
	copy(w.b.Bytes()[off:], p)
	return len(p), nil
}
