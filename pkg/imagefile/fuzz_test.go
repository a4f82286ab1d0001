package imagefile

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// seedArchives returns an oci-archive and a docker-archive of a small
// random image.
func seedArchives(f *testing.F) [][]byte {
	img, err := random.Image(64, 1)
	if err != nil {
		f.Fatal(err)
	}
	oci, err := os.ReadFile(tarDir(f, ociLayout(f, img)))
	if err != nil {
		f.Fatal(err)
	}
	var docker bytes.Buffer
	tag, _ := name.NewTag("urunc/f:1")
	if err := tarball.Write(tag, img, &docker); err != nil {
		f.Fatal(err)
	}
	return [][]byte{oci, docker.Bytes()}
}

// readAllOf reads everything f offers, as inspect and push would.
func readAllOf(t *testing.T, f *File) {
	for _, img := range f.Images {
		img.RawManifest()
		img.ConfigFile()
		layers, err := img.Layers()
		if err != nil {
			continue
		}
		for _, l := range layers {
			rc, err := l.Compressed()
			if err != nil {
				continue
			}
			io.Copy(io.Discard, rc)
			rc.Close()
		}
	}
	if f.Index != nil {
		f.Index.IndexManifest()
		f.Index.Digest()
	}
}

// FuzzOpenArchive opens bytes as an image archive, then reads it all.
func FuzzOpenArchive(f *testing.F) {
	for _, s := range seedArchives(f) {
		f.Add(s)
	}
	f.Add([]byte{})
	f.Add([]byte("not a tar"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "image.tar")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		file, err := Open(p)
		if err != nil {
			return
		}
		defer file.Close()
		if len(file.Images) == 0 || len(file.Names) != len(file.Images) {
			t.Fatalf("opened with %d images and %d name lists", len(file.Images), len(file.Names))
		}
		readAllOf(t, file)
	})
}

// FuzzOpenLayout unpacks bytes, a tar, as a layout directory (symlinks
// included, pointing anywhere), then opens and reads it all.
func FuzzOpenLayout(f *testing.F) {
	f.Add(seedArchives(f)[0])
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		tr := tar.NewReader(bytes.NewReader(data))
		for {
			h, err := tr.Next()
			if err != nil {
				break
			}
			name := path.Clean(h.Name)
			if name == "." || strings.HasPrefix(name, "../") || name == ".." || path.IsAbs(name) {
				continue
			}
			p := filepath.Join(dir, filepath.FromSlash(name))
			os.MkdirAll(filepath.Dir(p), 0o755)
			switch h.Typeflag {
			case tar.TypeReg:
				b, _ := io.ReadAll(io.LimitReader(tr, 1<<20))
				os.WriteFile(p, b, 0o644)
			case tar.TypeDir:
				os.Mkdir(p, 0o755)
			case tar.TypeSymlink:
				os.Symlink(h.Linkname, p)
			}
		}
		file, err := Open(dir)
		if err != nil {
			return
		}
		defer file.Close()
		readAllOf(t, file)
	})
}

// FuzzIndexTar indexes bytes as a tar: every member indexed reads back
// exactly its size, in place.
func FuzzIndexTar(f *testing.F) {
	for _, s := range seedArchives(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "x.tar")
		os.WriteFile(p, data, 0o644)
		file, size, err := openRegular(p)
		if err != nil {
			t.Fatal(err)
		}
		defer file.Close()
		tf, err := indexTar(file, size)
		if err != nil {
			var bad *Error
			if !errors.As(err, &bad) {
				t.Fatalf("not an *Error: %v", err)
			}
			return
		}
		for name, s := range tf.files {
			rc, n, err := tf.open(name)
			if err != nil {
				if s.off+s.size <= size {
					t.Fatalf("%s: %v", name, err)
				}
				continue
			}
			got, err := io.Copy(io.Discard, rc)
			if err != nil || got != n || n != s.size {
				t.Fatalf("%s: read %d of %d: %v", name, got, n, err)
			}
		}
	})
}
