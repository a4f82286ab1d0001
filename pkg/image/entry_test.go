package image

import (
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
)

// TestFromPathSpecialFiles: FromPath refuses a special file and names its
// type.
func TestFromPathSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	testenv.Mkfifo(t, fifo)
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for p, want := range map[string]string{fifo: "it is a named pipe (FIFO)", sock: "it is a socket"} {
		if _, err := FromPath(p, "/x"); err == nil || !strings.Contains(err.Error(), "unsupported file type: "+want) {
			t.Errorf("FromPath(%s) = %v, want %q", p, err, want)
		}
	}
}

// fileEntry is the entry FromPath plans for copying the regular file p to
// target.
func fileEntry(t *testing.T, p, target string) Entry {
	t.Helper()
	es, err := FromPath(p, target)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || es[0].Type != Regular {
		t.Fatalf("FromPath(%s) = %+v, want one regular file", p, es)
	}
	return es[0]
}
