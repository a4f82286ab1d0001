package filekind

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nubificus/bunix/internal/testenv"
)

// TestOf names real files of each type.
func TestOf(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	fifo := filepath.Join(dir, "fifo")
	testenv.Mkfifo(t, fifo)
	link := filepath.Join(dir, "link")
	os.Symlink("file", link)
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for path, want := range map[string]string{
		file: "a regular file", dir: "a directory", link: "a symbolic link", fifo: "a named pipe (FIFO)",
		sock: "a socket", "/dev/null": "a character device",
	} {
		fi, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := Of(fi.Mode()); got != want {
			t.Errorf("Of(%s) = %q, want %q", path, got, want)
		}
	}
	if got := Of(os.ModeDevice); got != "a block device" {
		t.Errorf("Of(block device) = %q", got)
	}
	if got := Of(os.ModeIrregular); got != "a special file" {
		t.Errorf("Of(irregular) = %q", got)
	}
}

// TestReadRegular: a regular file is read; at the cap it is read, past it
// the error wraps ErrTooLarge; a FIFO (at once, without a writer), a
// directory and a device are each a *NotRegularError with their mode; a
// missing file is fs.ErrNotExist.
func TestReadRegular(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	os.WriteFile(file, []byte("0123"), 0o644)
	if data, err := ReadRegular(file, 4); err != nil || string(data) != "0123" {
		t.Errorf("ReadRegular(4 bytes, cap 4) = %q, %v", data, err)
	}
	if _, err := ReadRegular(file, 3); !errors.Is(err, ErrTooLarge) {
		t.Errorf("ReadRegular(4 bytes, cap 3) = %v", err)
	}
	fifo := filepath.Join(dir, "fifo")
	testenv.Mkfifo(t, fifo)
	err := testenv.Within(t, time.Minute, "ReadRegular of a FIFO", func() error { _, err := ReadRegular(fifo, 10); return err })
	var nr *NotRegularError
	if !errors.As(err, &nr) || nr.Mode&fs.ModeNamedPipe == 0 || nr.Error() != fifo+" is a named pipe (FIFO), not a regular file" {
		t.Errorf("FIFO: %v", err)
	}
	for _, p := range []string{dir, "/dev/zero"} {
		var nr *NotRegularError
		if _, err := ReadRegular(p, 10); !errors.As(err, &nr) {
			t.Errorf("%s: %v", p, err)
		}
	}
	if _, _, err := OpenRegular(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
}
