package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// FuzzExtract extracts a path out of an image whose one layer is fuzzed:
// whatever the layer holds (names climbing out with .., absolute links,
// hard links, whiteouts), Extract must not crash, and everything it
// writes stays below its directory, which is all there is in a parent
// made for the test.
func FuzzExtract(f *testing.F) {
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	tw.WriteHeader(&tar.Header{Name: "app/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: "app/bin", Typeflag: tar.TypeReg, Mode: 0o755, Size: 1})
	tw.Write([]byte("b"))
	tw.WriteHeader(&tar.Header{Name: "app/escape", Typeflag: tar.TypeSymlink, Linkname: "../../../etc"})
	tw.WriteHeader(&tar.Header{Name: "app/escape/passwd", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1})
	tw.Write([]byte("x"))
	tw.WriteHeader(&tar.Header{Name: "app/hard", Typeflag: tar.TypeLink, Linkname: "app/bin"})
	tw.WriteHeader(&tar.Header{Name: "../app/up", Typeflag: tar.TypeReg, Mode: 0o644})
	tw.Close()
	f.Add(layer.Bytes(), "/app")
	f.Add(layer.Bytes(), "/")
	f.Add([]byte("not a tar"), "/app")
	maxExtract = 1 << 20
	f.Fuzz(func(t *testing.T, data []byte, p string) {
		if !strings.HasPrefix(p, "/") || filepath.Clean(p) != p {
			return
		}
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
		if err != nil {
			return
		}
		img, err := mutate.AppendLayers(empty.Image, l)
		if err != nil {
			return
		}
		parent := t.TempDir()
		dir := filepath.Join(parent, "out")
		os.Mkdir(dir, 0o755)
		Extract(context.Background(), img, p, dir)
		filepath.WalkDir(parent, func(q string, d fs.DirEntry, err error) error {
			if q != parent && q != dir && !strings.HasPrefix(q, dir+string(filepath.Separator)) {
				t.Fatalf("Extract wrote %s, outside %s", q, dir)
			}
			return nil
		})
	})
}

// TestExtractCap: a file over what Extract writes in all is refused
// before its bytes are written; under it, it is written.
func TestExtractCap(t *testing.T) {
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	tw.WriteHeader(&tar.Header{Name: "big", Typeflag: tar.TypeReg, Mode: 0o644, Size: 100})
	tw.Write(bytes.Repeat([]byte("x"), 100))
	tw.Close()
	raw := layer.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, _ := mutate.AppendLayers(empty.Image, l)
	defer func(m int64) { maxExtract = m }(maxExtract)
	maxExtract = 99
	dir := t.TempDir()
	if err := Extract(context.Background(), img, "/big", dir); err == nil || !strings.Contains(err.Error(), "/big is 100 bytes, more than the 99 bytes") {
		t.Errorf("over the cap: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "big")); err == nil {
		t.Error("the file over the cap was written")
	}
	maxExtract = 100
	if err := Extract(context.Background(), img, "/big", t.TempDir()); err != nil {
		t.Errorf("at the cap: %v", err)
	}
}

// TestExtractNotFileOrDir: what is at p must be a file or a directory
// for a reader of dir + p: a symlink there (to the host's /etc) and a
// FIFO are refused, naming p; a symlink below p is kept.
func TestExtractNotFileOrDir(t *testing.T) {
	for _, tc := range []struct {
		h    tar.Header
		p    string
		want string
	}{
		{tar.Header{Name: "app", Typeflag: tar.TypeSymlink, Linkname: "/etc"}, "/app", `/app is a symbolic link (to "/etc"), not a file or a directory`},
		{tar.Header{Name: "app", Typeflag: tar.TypeFifo, Mode: 0o644}, "/app", "it has nothing bunix copies at /app"},
		{tar.Header{Name: "app/etc", Typeflag: tar.TypeSymlink, Linkname: "/etc"}, "/app", ""},
	} {
		var layer bytes.Buffer
		tw := tar.NewWriter(&layer)
		tw.WriteHeader(&tc.h)
		tw.Close()
		raw := layer.Bytes()
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil })
		if err != nil {
			t.Fatal(err)
		}
		img, _ := mutate.AppendLayers(empty.Image, l)
		err = Extract(context.Background(), img, tc.p, t.TempDir())
		var invalid *InvalidError
		if tc.want == "" && err != nil || tc.want != "" && (!errors.As(err, &invalid) || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s %c at %s: %v, want %q", tc.h.Name, tc.h.Typeflag, tc.p, err, tc.want)
		}
	}
}
