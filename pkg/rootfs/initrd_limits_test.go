package rootfs

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/image"
)

// TestInitrdAtTheLimits: a path of 4095 bytes and a symlink target of 4095
// bytes, the most Linux unpacks, are written and read back by GNU cpio;
// a byte more, a NUL, an empty target or a file of 4 GiB is refused before
// anything is written, naming the path.
func TestInitrdAtTheLimits(t *testing.T) {
	long := "/" + strings.Repeat("d/", (maxCPIONameLen-5)/2) + "fffff"
	target := strings.Repeat("t", maxCPIOLinkLen)
	tree, err := Tree([]image.Entry{
		{Path: long, Type: image.Regular, Data: []byte("at the limit\n")},
		{Path: "/link", Type: image.Symlink, Linkname: target},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(long) != maxCPIONameLen+1 {
		t.Fatalf("test path is %d bytes", len(long))
	}
	var buf bytes.Buffer
	if err := WriteInitrd(&buf, tree, InitrdOptions{MTime: mtime}); err != nil {
		t.Fatal(err)
	}
	list := exec.Command(testenv.Require(t, "cpio"), "-itv")
	list.Stdin = bytes.NewReader(buf.Bytes())
	out, err := list.Output()
	if err != nil {
		t.Fatalf("cpio -itv: %v", err)
	}
	for _, want := range []string{" 13 Nov 14  2023 " + long[1:] + "\n", " link -> " + target + "\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("cpio -itv lacks %.100q...", want)
		}
	}

	for _, tc := range []struct {
		e    image.Entry
		want string
	}{
		{image.Entry{Path: long + "f", Type: image.Regular}, "the path is 4096 bytes: Linux unpacks no initrd name over 4095"},
		{image.Entry{Path: "/a\x00b", Type: image.Regular}, "NUL"},
		{image.Entry{Path: "/l", Type: image.Symlink, Linkname: target + "t"}, "the symlink's target is 4096 bytes"},
		{image.Entry{Path: "/l", Type: image.Symlink}, "target is empty"},
		{image.Entry{Path: "/l", Type: image.Symlink, Linkname: "a\x00b"}, "NUL"},
		{image.Entry{Path: "/big", Type: image.Regular, Source: "/nonexistent", Size: 4 << 30}, "the file is 4294967296 bytes: a newc cpio archive holds files of at most 4294967295"},
	} {
		var w bytes.Buffer
		err := WriteInitrd(&w, []image.Entry{tc.e}, InitrdOptions{MTime: mtime})
		var le *LimitError
		if !errors.As(err, &le) || le.Path != tc.e.Path || !strings.Contains(err.Error(), tc.want) || w.Len() != 0 {
			t.Errorf("WriteInitrd(%.60q) = %v (%d bytes written), want a LimitError saying %q", tc.e.Path, err, w.Len(), tc.want)
		}
	}
	for _, tm := range []time.Time{time.Unix(-1, 0), time.Unix(1<<32, 0)} {
		if err := CheckInitrd(nil, tm); err == nil {
			t.Errorf("CheckInitrd at %v succeeded", tm)
		}
	}
	if err := CheckInitrd(nil, time.Unix(1<<32-1, 0)); err != nil {
		t.Errorf("CheckInitrd at the last 32-bit second: %v", err)
	}
}

// TestInitrdLargestFile writes a sparse file of 4 GiB less one byte, the
// largest newc holds, and checks its header and length; the archive goes
// to a counter, not to disk. Skipped with -short: it reads 4 GiB.
func TestInitrdLargestFile(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 4 GiB")
	}
	src := filepath.Join(t.TempDir(), "big")
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(maxCPIONumber); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var head headWriter
	entries, err := image.FromPath(src, "/big")
	if err != nil {
		t.Fatal(err)
	}
	tree := entries
	if err := WriteInitrd(&head, tree, InitrdOptions{MTime: mtime}); err != nil {
		t.Fatal(err)
	}
	// 110-byte header, "big\0" padded to 116, the file, a byte of pad,
	// then the trailer record (110 + "TRAILER!!!\0", padded to 124).
	if want := int64(116 + maxCPIONumber + 1 + 124); head.n != want {
		t.Errorf("archive is %d bytes, want %d", head.n, want)
	}
	if size := string(head.b[54:62]); size != "FFFFFFFF" {
		t.Errorf("c_filesize = %s, want FFFFFFFF", size)
	}
}

// headWriter keeps the first 512 bytes written to it and counts the rest.
type headWriter struct {
	b []byte
	n int64
}

func (w *headWriter) Write(p []byte) (int, error) {
	if room := 512 - len(w.b); room > 0 {
		w.b = append(w.b, p[:min(room, len(p))]...)
	}
	w.n += int64(len(p))
	return len(p), nil
}

var _ io.Writer = (*headWriter)(nil)
