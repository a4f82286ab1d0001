package image

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFileKind names real files of each type, and FromPath's refusal of a
// special file uses the name.
func TestFileKind(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink("file", link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	mkfifo(t, fifo)
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for p, want := range map[string]string{
		file: "file", dir: "directory", link: "symlink", fifo: "FIFO", sock: "socket", "/dev/null": "character device",
	} {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := FileKind(fi.Mode()); got != want {
			t.Errorf("FileKind(%s) = %q, want %q", p, got, want)
		}
	}
	for p, want := range map[string]string{fifo: "it is a FIFO", sock: "it is a socket"} {
		if _, err := FromPath(p, "/x"); err == nil || !strings.Contains(err.Error(), "unsupported file type: "+want) {
			t.Errorf("FromPath(%s) = %v, want %q", p, err, want)
		}
	}
}
