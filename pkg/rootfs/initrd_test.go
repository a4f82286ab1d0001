package rootfs

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/image"
	"github.com/u-root/u-root/pkg/cpio"
)

func writeInitrd(t *testing.T, dir string, o InitrdOptions) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "initrd")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteInitrd(f, sampleTree(t, dir), o); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestInitrd reads the archive back with GNU cpio: the listing shows owner
// root, the fixed time and the layers' modes, and extracting it gives the
// files and symlinks of the source tree.
func TestInitrd(t *testing.T) {
	t.Setenv("TZ", "UTC")
	dir := sample(t)
	img := writeInitrd(t, dir, InitrdOptions{MTime: mtime})
	cpioTool := testenv.Require(t, "cpio")
	in, _ := os.Open(img)
	defer in.Close()
	list := exec.Command(cpioTool, "-itv")
	list.Stdin = in
	out, err := list.Output()
	if err != nil {
		t.Fatalf("cpio -itv: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for _, want := range []string{
		"-rwxr-xr-x   1 root     root           18 Nov 14  2023 init",
		"drwxr-xr-x   2 root     root            0 Nov 14  2023 conf",
		"-rw-r--r--   1 root     root           10 Nov 14  2023 conf/redis.conf",
		"lrwxrwxrwx   1 root     root           15 Nov 14  2023 link -> conf/redis.conf",
		"-rw-r--r--   1 root     root            0 Nov 14  2023 empty",
	} {
		if !strings.Contains(string(out), want+"\n") {
			t.Errorf("cpio -itv lacks %q:\n%s", want, strings.Join(lines[:10], "\n"))
		}
	}
	if lines[0] != "drwxr-xr-x   2 root     root            0 Nov 14  2023 a" || !strings.HasSuffix(lines[len(lines)-1], " many/file-with-a-longish-name-299") {
		t.Errorf("want sorted order with parents first, got %q ... %q", lines[0], lines[len(lines)-1])
	}

	dst := t.TempDir()
	in.Seek(0, 0)
	extract := exec.Command(cpioTool, "-idm", "--quiet", "--no-absolute-filenames")
	extract.Dir, extract.Stdin = dst, in
	if out, err := extract.CombinedOutput(); err != nil {
		t.Fatalf("cpio -id: %v\n%s", err, out)
	}
	sameTree(t, dir, dst)

	// Inode numbers count up in archive order.
	f, _ := os.Open(img)
	defer f.Close()
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(f))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range recs[:len(recs)-1] {
		if r.Ino != uint64(i+1) || r.UID != 0 || r.GID != 0 || r.MTime != uint64(mtime.Unix()) || r.Major != 0 || r.Rmajor != 0 {
			t.Errorf("record %d: %s", i, r.Info)
		}
	}
	if kind, err := Detect(img); kind != CPIO || err != nil {
		t.Errorf("Detect = %v, %v", kind, err)
	}
	if again := writeInitrd(t, dir, InitrdOptions{MTime: mtime}); !bytes.Equal(testenv.ReadFile(t, img), testenv.ReadFile(t, again)) {
		t.Error("two writes of the same tree differ")
	}
}

func TestInitrdGzip(t *testing.T) {
	dir := sample(t)
	img := writeInitrd(t, dir, InitrdOptions{MTime: mtime, Gzip: true})
	if again := writeInitrd(t, dir, InitrdOptions{MTime: mtime, Gzip: true}); !bytes.Equal(testenv.ReadFile(t, img), testenv.ReadFile(t, again)) {
		t.Error("two writes of the same tree differ")
	}
	if kind, err := Detect(img); kind != GzipCPIO || err != nil {
		t.Errorf("Detect = %v, %v", kind, err)
	}
	dst := t.TempDir()
	cmd := exec.Command("sh", "-c", `gzip -dc "$1" | cpio -idm --quiet`, "sh", img)
	cmd.Dir = dst
	testenv.Require(t, "gzip")
	testenv.Require(t, "cpio")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gzip -dc | cpio -id: %v\n%s", err, out)
	}
	sameTree(t, dir, dst)
}

// sameTree checks that got holds the files and symlinks of want, with the
// same contents, and that executables stayed executable.
func sameTree(t *testing.T, want, got string) {
	t.Helper()
	n := 0
	filepath.Walk(want, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(want, p)
		q := filepath.Join(got, rel)
		gi, err := os.Lstat(q)
		switch {
		case err != nil:
			t.Errorf("%s: %v", rel, err)
		case fi.Mode()&os.ModeSymlink != 0:
			a, _ := os.Readlink(p)
			b, _ := os.Readlink(q)
			if a != b {
				t.Errorf("%s: symlink to %q, want %q", rel, b, a)
			}
		case fi.Mode().IsRegular():
			if !bytes.Equal(testenv.ReadFile(t, p), testenv.ReadFile(t, q)) || (fi.Mode()&0o100 != 0) != (gi.Mode()&0o100 != 0) {
				t.Errorf("%s: contents or executable bit differ", rel)
			}
		}
		n++
		return nil
	})
	if n < 300 {
		t.Errorf("compared only %d entries", n)
	}
}

func TestDetectRejects(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{
		"text":     "hello world, not a rootfs",
		"empty":    "",
		"gzipText": "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff\xcbH\xcd\xc9\xc9\x07\x00\x86\xa6\x106\x05\x00\x00\x00",
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(data), 0o644)
		if kind, err := Detect(p); err == nil {
			t.Errorf("Detect(%s) = %v, want an error", name, kind)
		}
	}
}

// TestInitrdSourceFIFO: a source file replaced by a FIFO after the tree was
// read is an error at once, not an open that waits forever for a writer.
func TestInitrdSourceFIFO(t *testing.T) {
	dir := sample(t)
	tree := sampleTree(t, dir)
	p := filepath.Join(dir, "conf", "redis.conf")
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	testenv.Mkfifo(t, p)
	done := make(chan error, 1)
	go func() { done <- WriteInitrd(io.Discard, tree, InitrdOptions{MTime: mtime}) }()
	select {
	case err := <-done:
		if want := "reading " + p + " for /conf/redis.conf: " + p + " changed while the image was written: it is now a named pipe (FIFO), not the regular file planned"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("WriteInitrd(source now a FIFO) = %v, want %q", err, want)
		}
	case <-time.After(time.Minute):
		t.Fatal("WriteInitrd blocked on a FIFO")
	}
}

// TestInitrdGzipPadded: a gzipped initrd's length is a multiple of 4, the
// padding zero bytes after the gzip stream, so that Linux finds a segment
// urunc appends to it; the stream itself is whole and the bytes are the
// same on every write.
func TestInitrdGzipPadded(t *testing.T) {
	unaligned := 0
	for n := range 8 {
		data := bytes.Repeat([]byte("x"), n*7)
		tree := []image.Entry{{Path: "/f", Type: image.Regular, Data: data, Size: int64(len(data))}}
		var plain, padded bytes.Buffer
		if err := writeCPIO(&plain, tree, mtime); err != nil {
			t.Fatal(err)
		}
		if err := WriteInitrd(&padded, tree, InitrdOptions{MTime: mtime, Gzip: true}); err != nil {
			t.Fatal(err)
		}
		b := padded.Bytes()
		if len(b)%4 != 0 {
			t.Errorf("%d bytes of data: initrd of %d bytes, not a multiple of 4", len(data), len(b))
		}
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		zr.Multistream(false)
		got, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(got, plain.Bytes()) {
			t.Fatalf("%d bytes of data: the gzip stream does not give the archive back: %v", len(data), err)
		}
		// What follows the stream is the padding: fewer than 4 zero bytes.
		rest := b[len(b)-gzipEnd(t, b):]
		if len(rest) >= 4 || strings.Trim(string(rest), "\x00") != "" {
			t.Errorf("%d bytes of data: %q after the gzip stream", len(data), rest)
		}
		if len(rest) > 0 {
			unaligned++
		}
	}
	if unaligned == 0 {
		t.Error("no tree needed padding: the test proves nothing")
	}
}

// gzipEnd returns how many bytes of b follow its first gzip member.
func gzipEnd(t *testing.T, b []byte) int {
	t.Helper()
	r := bytes.NewReader(b)
	zr, err := gzip.NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	zr.Multistream(false)
	if _, err := io.Copy(io.Discard, zr); err != nil {
		t.Fatal(err)
	}
	return r.Len()
}
