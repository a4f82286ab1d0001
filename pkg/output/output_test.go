package output

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nubificus/bunix/internal/testenv"
)

// writeString is a write function for WriteFile.
func writeString(s string) func(io.Writer) error {
	return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
}

// TestWriteFileTargets writes onto each kind of thing a path can name.
func TestWriteFileTargets(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	old := filepath.Join(dir, "old.tar")
	os.WriteFile(old, []byte("old"), 0o600)
	os.Symlink(old, filepath.Join(dir, "link-to-file"))
	os.Symlink(filepath.Join(dir, "gone"), filepath.Join(dir, "dangling"))
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	os.Symlink("sub", filepath.Join(dir, "link-to-dir"))
	readOnly := filepath.Join(dir, "read-only.tar")
	os.WriteFile(readOnly, []byte("kept"), 0o444)
	for _, tc := range []struct{ out, want string }{
		{readOnly, "read-only.tar: is write-protected (mode 0444): bunix does not replace a file it may not write"},
		{filepath.Join(dir, "sub"), "sub: is a directory: give the output a file name"},
		{filepath.Join(dir, "sub") + "/", "sub/: names a directory"},
		{filepath.Join(dir, "."), "is a directory"},
		{".", ".: names a directory"},
		{filepath.Join(dir, "link-to-dir"), "link-to-dir: is a directory"},
		{filepath.Join(dir, "link-to-file"), "link-to-file: is a symlink to the file " + old + ": bunix does not replace a file through a link"},
		{filepath.Join(dir, "dangling"), "dangling: is a symlink to " + filepath.Join(dir, "gone") + ", which cannot be reached"},
	} {
		called := false
		err := WriteFileContext(ctx, tc.out, func(io.Writer) error { called = true; return nil })
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.out, err, tc.want)
		}
		// A refusal is an *Error: the path, then why.
		var oe *Error
		if !errors.As(err, &oe) || oe.Path != tc.out || err.Error() != "output "+tc.out+": "+oe.Reason {
			t.Errorf("%s: got %#v, want an *Error on the path", tc.out, err)
		}
		if called {
			t.Errorf("%s: written before it was refused", tc.out)
		}
	}
	if b, _ := os.ReadFile(old); string(b) != "old" {
		t.Errorf("the link's target became %q", b)
	}
	if b, _ := os.ReadFile(readOnly); string(b) != "kept" {
		t.Errorf("the write-protected file became %q", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 6 {
		t.Errorf("the refused writes left %v", ents)
	}

	// A device is written through, not replaced.
	if err := WriteFileContext(ctx, "/dev/null", writeString("bytes")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat("/dev/null"); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("/dev/null is now %v (%v)", fi.Mode(), err)
	}
	// So is a FIFO, and a symlink to one.
	fifo := filepath.Join(dir, "fifo")
	testenv.Mkfifo(t, fifo)
	os.Symlink(fifo, filepath.Join(dir, "link-to-fifo"))
	for _, out := range []string{fifo, filepath.Join(dir, "link-to-fifo")} {
		got := make(chan string)
		go func() {
			f, err := os.Open(fifo)
			if err != nil {
				got <- err.Error()
				return
			}
			b, _ := io.ReadAll(f)
			f.Close()
			got <- string(b)
		}()
		if err := WriteFileContext(ctx, out, writeString("through the fifo")); err != nil {
			t.Fatal(err)
		}
		if s := <-got; s != "through the fifo" {
			t.Errorf("%s: the reader got %q", out, s)
		}
		if fi, _ := os.Lstat(out); fi.Mode().Type() == 0 {
			t.Errorf("%s was replaced by a regular file", out)
		}
	}
}

// TestWriteFileFIFOWithoutReader: a FIFO that nobody reads does not hold
// the write once its context is done. A write that ignored the context
// would wait for ever: the minute is only when the test gives up on it.
func TestWriteFileFIFOWithoutReader(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	testenv.Mkfifo(t, fifo)
	stop := errors.New("stop")
	ctx, cancel := context.WithCancelCause(context.Background())
	time.AfterFunc(50*time.Millisecond, func() { cancel(stop) })
	err := testenv.Within(t, time.Minute, "a write to a FIFO nobody reads, cancelled after 50 ms", func() error {
		return WriteFileContext(ctx, fifo, writeString("x"))
	})
	if !errors.Is(err, stop) {
		t.Errorf("got %v, want the context's cause", err)
	}
}

// TestWriteFileCancelled: a write whose context ends leaves the old output
// and no temporary file, whether the file system has O_TMPFILE or not.
func TestWriteFileCancelled(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "image.tar")
	os.WriteFile(out, []byte("old"), 0o644)
	ctx, cancel := context.WithCancelCause(context.Background())
	stop := errors.New("stop")
	err := WriteFileContext(ctx, out, func(w io.Writer) error {
		io.WriteString(w, "partial")
		if _, err := os.Stat(ProcPath(w.(*os.File))); err != nil {
			t.Errorf("the temporary file cannot be reopened: %v", err)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 1 {
			t.Logf("no O_TMPFILE here: the temporary file is named (%v)", ents)
		}
		cancel(stop)
		return nil
	})
	if !errors.Is(err, stop) {
		t.Errorf("got %v", err)
	}
	if b, _ := os.ReadFile(out); string(b) != "old" {
		t.Errorf("output = %q", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("left behind: %v", ents)
	}
}

// TestWriteFileUnnamed: while the bytes are written, nothing but the old
// output is in its directory (O_TMPFILE), on the file systems that have it.
func TestWriteFileUnnamed(t *testing.T) {
	dir := t.TempDir()
	if f, err := OpenTmpfile(dir); err != nil {
		t.Skipf("no O_TMPFILE in %s: %v", dir, err)
	} else {
		f.Close()
	}
	out := filepath.Join(dir, "image.tar")
	err := WriteFileContext(context.Background(), out, func(w io.Writer) error {
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("while writing, the directory holds %v", ents)
		}
		return writeString("new")(w)
	})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); string(b) != "new" {
		t.Errorf("output = %q", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("left behind: %v", ents)
	}
}

// TestCreateTemp: a TempFile leaves no name in its directory, with
// O_TMPFILE or without (a named file unlinked at once), yet its Path opens
// it again while it is open; closing it leaves nothing.
func TestCreateTemp(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opener func(string) (*os.File, error)
	}{
		{"O_TMPFILE", OpenTmpfile},
		{"no O_TMPFILE", func(string) (*os.File, error) { return nil, errors.New("no O_TMPFILE here") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func(old func(string) (*os.File, error)) { openUnnamed = old }(openUnnamed)
			openUnnamed = tc.opener
			dir := t.TempDir()
			f, err := CreateTemp(dir, ".scratch-*")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteString("spooled"); err != nil {
				t.Fatal(err)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Errorf("the scratch file is named: %v", ents)
			}
			if b, err := os.ReadFile(f.Path); err != nil || string(b) != "spooled" {
				t.Errorf("reopening %s: %q, %v", f.Path, b, err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Errorf("left behind: %v", ents)
			}
		})
	}
}

// TestCreateTempWithoutProc: where /proc is not mounted (and so no
// O_TMPFILE), CreateTemp still unlinks its file at once, with no Path;
// CreateTempPath keeps the name as its Path, which Close removes.
func TestCreateTempWithoutProc(t *testing.T) {
	defer func(old func(string) (*os.File, error)) { openUnnamed = old }(openUnnamed)
	defer func(old func(string) (os.FileInfo, error)) { statProc = old }(statProc)
	openUnnamed = func(string) (*os.File, error) { return nil, errors.New("no /proc") }
	statProc = func(string) (os.FileInfo, error) { return nil, errors.New("no /proc") }
	dir := t.TempDir()
	f, err := CreateTemp(dir, ".scratch-*")
	if err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 || f.Path != "" {
		t.Errorf("CreateTemp without /proc: named %v, Path %q", ents, f.Path)
	}
	f.Close()
	g, err := CreateTempPath(dir, ".scratch-*")
	if err != nil {
		t.Fatal(err)
	}
	g.WriteString("rootfs")
	if b, err := os.ReadFile(g.Path); err != nil || string(b) != "rootfs" || filepath.Dir(g.Path) != dir {
		t.Errorf("CreateTempPath without /proc: Path %q holds %q, %v", g.Path, b, err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left behind: %v", ents)
	}
}

// TestWriteFileKeepsOldOutputOnFailure: a write that fails leaves the old
// output and no temporary file; one that succeeds replaces it, mode 0644.
func TestWriteFileKeepsOldOutputOnFailure(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "image.tar")
	if err := os.WriteFile(out, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := WriteFile(out, func(w io.Writer) error {
		w.Write([]byte("partial"))
		return errors.New("boom")
	})
	if err == nil || err.Error() != "boom" {
		t.Fatalf("got %v", err)
	}
	if b, _ := os.ReadFile(out); string(b) != "precious" {
		t.Errorf("output changed to %q", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("temporary files left behind: %v", ents)
	}
	if err := WriteFile(out, func(w io.Writer) error { _, err := w.Write([]byte("new")); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); string(b) != "new" {
		t.Errorf("output = %q", b)
	}
	if fi, _ := os.Stat(out); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", fi.Mode())
	}
}
