package run

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// FuzzUnpack feeds unpackLayer arbitrary layer bytes, then resolves a
// path in what it unpacked: it never panics, and nothing appears outside
// the root, whatever links, whiteouts and names the layer holds.
func FuzzUnpack(f *testing.F) {
	tarOf := func(hs ...*tar.Header) []byte {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		for _, h := range hs {
			tw.WriteHeader(h)
			if h.Size > 0 {
				tw.Write(bytes.Repeat([]byte("x"), int(h.Size)))
			}
		}
		tw.Close()
		return b.Bytes()
	}
	f.Add(tarOf(&tar.Header{Name: "a/b", Typeflag: tar.TypeReg, Size: 3, Mode: 0o644}), "a/b")
	f.Add(tarOf(&tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "../../outside/x"},
		&tar.Header{Name: "l/y", Typeflag: tar.TypeReg, Size: 1}), "l/y")
	f.Add(tarOf(&tar.Header{Name: "../x", Typeflag: tar.TypeReg, Size: 1},
		&tar.Header{Name: "h", Typeflag: tar.TypeLink, Linkname: "../../etc/passwd"}), "h")
	f.Add(tarOf(&tar.Header{Name: "d/", Typeflag: tar.TypeDir}, &tar.Header{Name: "d/.wh..wh..opq", Typeflag: tar.TypeReg},
		&tar.Header{Name: ".wh.d", Typeflag: tar.TypeReg}, &tar.Header{Name: "/", Typeflag: tar.TypeSymlink, Linkname: "/"}), "d")
	f.Fuzz(func(t *testing.T, data []byte, p string) {
		dir := t.TempDir()
		outside := filepath.Join(dir, "outside")
		os.Mkdir(outside, 0o700)
		os.Mkdir(filepath.Join(dir, "root"), 0o700)
		root, err := os.OpenRoot(filepath.Join(dir, "root"))
		if err != nil {
			t.Fatal(err)
		}
		defer root.Close()
		l := static.NewLayer(data, types.OCIUncompressedLayer)
		diffID, _ := l.DiffID()
		n, written := 0, int64(0)
		unpackLayer(context.Background(), l, diffID, root, &n, &written)
		if resolved, err := resolve(root, p); err == nil {
			if _, err := root.Lstat(resolved[1:]); resolved != "/" && err != nil {
				t.Errorf("resolve(%q) = %q, which root cannot stat: %v", p, resolved, err)
			}
		}
		if ents, _ := os.ReadDir(outside); len(ents) > 0 {
			t.Fatalf("the layer wrote %s outside the root", ents[0].Name())
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 2 {
			t.Fatalf("the layer wrote beside the root: %d entries", len(ents))
		}
	})
}
