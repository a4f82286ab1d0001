package filekind

import (
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestOf names real files of each type.
func TestOf(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
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
