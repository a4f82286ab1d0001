package image

import (
	"bytes"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nubificus/bunix/internal/testenv"
)

// TestArchiveOnePass: an archive written to a file, whose layers are
// written in one pass behind a placeholder header and named or sized
// afterwards, holds the same bytes as one written to a stream (an
// uncompressed OCI layer hashed, then written; a compressed one spooled,
// then copied), layers shared by two images included, which an OCI
// archive holds once (other tests read such archives back); and it reads
// its sources once and writes each layer once.
func TestArchiveOnePass(t *testing.T) {
	dir := tree(t, sampleFiles)
	big := make([]byte, 16<<20) // incompressible: compressed, as long
	rand.New(rand.NewSource(1)).Read(big)
	if err := os.WriteFile(filepath.Join(dir, "kernel"), big, 0o755); err != nil {
		t.Fatal(err)
	}
	amd := sampleImage(t, dir)
	arm := sampleImage(t, dir)
	arm.Architecture = "arm64"
	arm.Layers = arm.Layers[:2] // the same two layers, another config
	for _, c := range []struct {
		format      Format
		compression Compression
	}{
		{OCIArchive, Uncompressed},
		{OCIArchive, Gzip},
		{OCIArchive, Zstd},
		{DockerArchive, Gzip},
	} {
		t.Run(string(c.format)+"-"+string(c.compression), func(t *testing.T) {
			images := []*Image{amd, arm}
			if c.format == DockerArchive {
				images = images[:1]
			}
			opts := []Option{WithFormat(c.format), WithCompression(c.compression)}
			var stream bytes.Buffer
			if err := Write(&stream, images, opts...); err != nil {
				t.Fatal(err)
			}
			p := writePath(t, images, opts...)
			if got := testenv.ReadFile(t, p); !bytes.Equal(got, stream.Bytes()) {
				t.Errorf("the file (%d bytes) differs from the stream (%d bytes)", len(got), stream.Len())
			}
			read, written := readChars(t), writtenChars(t)
			writePath(t, images[:1], opts...)
			if read = readChars(t) - read; read >= 2*int64(len(big)) {
				t.Errorf("read %d bytes for a %d-byte kernel: the sources were read twice", read, len(big))
			}
			if written = writtenChars(t) - written; written >= 2*int64(len(big)) {
				t.Errorf("wrote %d bytes for a %d-byte kernel: the layer was written twice", written, len(big))
			}
			if c.compression == Uncompressed {
				return
			}
			// A layer too big to be sure of its header is spooled, as a
			// stream's is, to the same bytes.
			defer func(limit int64) { inPlaceLimit = limit }(inPlaceLimit)
			inPlaceLimit = int64(len(big)) / 2
			written = writtenChars(t)
			p = writePath(t, images, opts...)
			if got := testenv.ReadFile(t, p); !bytes.Equal(got, stream.Bytes()) {
				t.Errorf("the file written apart (%d bytes) differs from the stream (%d bytes)", len(got), stream.Len())
			}
			if written = writtenChars(t) - written; written < 2*int64(len(big)) {
				t.Errorf("wrote %d bytes for a %d-byte kernel: the layer over the limit was not written apart", written, len(big))
			}
		})
	}
}

// TestArchiveAppended: an archive written to a file opened with O_APPEND
// (standard output under a shell's >>), where a header cannot be rewritten
// in place (os.File refuses WriteAt; pwrite would write at the end), is
// written as to a stream, after what the file held. Before, an oci-archive
// failed there.
func TestArchiveAppended(t *testing.T) {
	dir := tree(t, sampleFiles)
	images := []*Image{sampleImage(t, dir)}
	for _, c := range []struct {
		format      Format
		compression Compression
	}{{OCIArchive, Uncompressed}, {OCIArchive, Gzip}, {DockerArchive, Gzip}} {
		opts := []Option{WithFormat(c.format), WithCompression(c.compression)}
		var stream bytes.Buffer
		if err := Write(&stream, images, opts...); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), "out")
		if err := os.WriteFile(p, []byte("kept"), 0o644); err != nil {
			t.Fatal(err)
		}
		// As a shell opens it, and as os.Stdout is made.
		fd, err := unix.Open(p, unix.O_WRONLY|unix.O_APPEND|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		f := os.NewFile(uintptr(fd), p)
		err = Write(f, images, opts...)
		f.Close()
		if err != nil {
			t.Fatalf("%s/%s: %v", c.format, c.compression, err)
		}
		if got, want := testenv.ReadFile(t, p), append([]byte("kept"), stream.Bytes()...); !bytes.Equal(got, want) {
			t.Errorf("%s/%s: the appended file (%d bytes) is not what it held and the stream (%d bytes)", c.format, c.compression, len(got), len(want))
		}
	}
}

// readChars returns how many bytes this process has read (rchar).
func readChars(t *testing.T) int64 {
	t.Helper()
	return ioCount(t, "rchar")
}

// writtenChars returns how many bytes this process has written (wchar),
// copy_file_range's included.
func writtenChars(t *testing.T) int64 {
	t.Helper()
	return ioCount(t, "wchar")
}

// ioCount returns the counter key of /proc/self/io.
func ioCount(t *testing.T, key string) int64 {
	t.Helper()
	for _, line := range strings.Split(string(testenv.ReadFile(t, "/proc/self/io")), "\n") {
		if v, ok := strings.CutPrefix(line, key+": "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/self/io", key)
	return 0
}
