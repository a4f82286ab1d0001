package image

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
)

// contentsOf returns what the output at p holds: an archive's bytes, or
// for a layout each file's bytes (through symlinks) by path, and the paths
// that are symlinks.
func contentsOf(t *testing.T, p string, f Format) (files map[string]string, links []string) {
	t.Helper()
	files = map[string]string{}
	if f != OCILayout {
		files[""] = string(testenv.ReadFile(t, p))
		return files, nil
	}
	err := filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(p, q)
		if d.Type()&fs.ModeSymlink != 0 {
			links = append(links, rel)
		}
		files[rel] = string(testenv.ReadFile(t, q))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files, links
}

// TestBlobLayers writes each layer apart with WriteLayer, then the image
// from those blobs: the bytes are those of the image written from the
// sources, though the sources have changed since (so they were not read
// again), and an OCI layout links its layer blobs instead of copying them.
func TestBlobLayers(t *testing.T) {
	eachFormat(t, func(t *testing.T, format Format, c Compression) {
		dir := tree(t, sampleFiles)
		img := sampleImage(t, dir)
		opts := []Option{WithFormat(format), WithCompression(c)}
		want, _ := contentsOf(t, writePath(t, []*Image{img}, opts...), format)

		blobs := t.TempDir()
		for i := range img.Layers {
			p := filepath.Join(blobs, string(rune('a'+i)))
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			b, err := WriteLayer(context.Background(), f, img.Layers[i], img.Created, c)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				t.Fatal(err)
			}
			b.Path = p
			img.Layers[i].Blob = &b
		}
		// Same size, other bytes: a writer that reads the kernel again
		// writes other bytes.
		if err := os.WriteFile(filepath.Join(dir, "kernel"), bytes.Repeat([]byte("x"), 19), 0o755); err != nil {
			t.Fatal(err)
		}
		got, links := contentsOf(t, writePath(t, []*Image{img}, opts...), format)
		if len(got) != len(want) {
			t.Fatalf("%d files, want %d", len(got), len(want))
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%q differs from the image written from the sources", k)
			}
		}
		if format == OCILayout && len(links) != len(img.Layers) {
			t.Errorf("symlinked blobs %q, want one per layer (%d)", links, len(img.Layers))
		}
	})
}

// TestBlobOfOtherCompression: a blob written with another compression is
// not used; the layer is encoded from its sources.
func TestBlobOfOtherCompression(t *testing.T) {
	dir := tree(t, sampleFiles)
	img := sampleImage(t, dir)
	want := write(t, img)
	var buf bytes.Buffer
	b, err := WriteLayer(context.Background(), &buf, img.Layers[1], img.Created, Gzip)
	if err != nil {
		t.Fatal(err)
	}
	b.Path = filepath.Join(t.TempDir(), "blob")
	if err := os.WriteFile(b.Path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	img.Layers[1].Blob = &b
	if !bytes.Equal(write(t, img), want) {
		t.Error("a gzip blob changed an uncompressed image")
	}
}

// TestBlobWrongSize: a blob whose file is not the size it is said to be is
// refused, naming it.
func TestBlobWrongSize(t *testing.T) {
	img := sampleImage(t, tree(t, sampleFiles))
	p := filepath.Join(t.TempDir(), "blob")
	os.WriteFile(p, []byte("short"), 0o644)
	img.Layers[1].Blob = &Blob{Path: p, Compression: Uncompressed, Size: 3072}
	for _, f := range formats {
		err := WritePath(filepath.Join(t.TempDir(), "out"), []*Image{img}, WithFormat(f))
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(p)) {
			t.Errorf("%s: got %v, want an error naming %s", f, err, p)
		}
	}
}

// TestBlobOtherBytes: a blob of the right size whose bytes are not those
// its digest names is refused when an archive copies it, whether the
// kernel copies it into a file or it goes through memory into a writer,
// and the error names the digest. (A layout links the blob and checks its
// size alone.)
func TestBlobOtherBytes(t *testing.T) {
	for _, c := range compressions {
		img := sampleImage(t, tree(t, sampleFiles))
		var buf bytes.Buffer
		b, err := WriteLayer(context.Background(), &buf, img.Layers[1], img.Created, c)
		if err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		data[len(data)/2] ^= 1
		b.Path = filepath.Join(t.TempDir(), "blob")
		if err := os.WriteFile(b.Path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		img.Layers[1].Blob = &b
		for _, f := range []Format{DockerArchive, OCIArchive} {
			opts := []Option{WithFormat(f), WithCompression(c)}
			out := filepath.Join(t.TempDir(), "out")
			err := WritePath(out, []*Image{img}, opts...)
			if err == nil || !strings.Contains(err.Error(), b.Digest.String()) {
				t.Errorf("%s/%s to a file: got %v, want an error naming %s", f, c, err, b.Digest)
			}
			if _, serr := os.Stat(out); serr == nil {
				t.Errorf("%s/%s: %s was written", f, c, out)
			}
			err = Write(io.Discard, []*Image{img}, opts...)
			if err == nil || !strings.Contains(err.Error(), b.Digest.String()) {
				t.Errorf("%s/%s to a writer: got %v, want an error naming %s", f, c, err, b.Digest)
			}
		}
	}
}
