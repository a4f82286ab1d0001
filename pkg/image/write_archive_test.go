package image

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
)

// TestOCIArchiveOnePass: an oci-archive written to a file, whose layers are
// written in one pass and named afterwards, holds the same bytes as one
// written to a stream (hashed, then written), layers shared by two images
// included, which it holds once (other tests read such archives back); and
// it reads its sources once.
func TestOCIArchiveOnePass(t *testing.T) {
	dir := tree(t, sampleFiles)
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<20) // 16 MiB
	if err := os.WriteFile(filepath.Join(dir, "kernel"), big, 0o755); err != nil {
		t.Fatal(err)
	}
	amd := sampleImage(t, dir)
	arm := sampleImage(t, dir)
	arm.Architecture = "arm64"
	arm.Layers = arm.Layers[:2] // the same two layers, another config
	images := []*Image{amd, arm}

	var stream bytes.Buffer
	if err := Write(&stream, images, WithFormat(OCIArchive)); err != nil {
		t.Fatal(err)
	}
	p := writePath(t, images, WithFormat(OCIArchive))
	if got := testenv.ReadFile(t, p); !bytes.Equal(got, stream.Bytes()) {
		t.Errorf("the file (%d bytes) differs from the stream (%d bytes)", len(got), stream.Len())
	}
	before := readChars(t)
	writePath(t, images[:1], WithFormat(OCIArchive))
	if read := readChars(t) - before; read >= 2*int64(len(big)) {
		t.Errorf("read %d bytes for a %d-byte kernel: the sources were read twice", read, len(big))
	}
}

// readChars returns how many bytes this process has read (rchar).
func readChars(t *testing.T) int64 {
	t.Helper()
	for _, line := range strings.Split(string(testenv.ReadFile(t, "/proc/self/io")), "\n") {
		if v, ok := strings.CutPrefix(line, "rchar: "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no rchar in /proc/self/io")
	return 0
}
