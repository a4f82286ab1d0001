package testenv

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"path"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// WalkTar calls f with each entry of the tar r and a reader of its
// contents, failing t when r is not a whole tar.
func WalkTar(t testing.TB, r io.Reader, f func(*tar.Header, io.Reader)) {
	t.Helper()
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
			return
		}
		f(hdr, tr)
	}
}

// LayerBlobs returns the blob of each layer of img, its compressed bytes
// as a registry stores them, read to the end: an error opening, reading or
// closing one (a reader that checks digests reports a mismatch there) is
// returned.
func LayerBlobs(img v1.Image) ([][]byte, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	var blobs [][]byte
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			return nil, err
		}
		blob, err := io.ReadAll(rc)
		if cerr := rc.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
		blobs = append(blobs, blob)
	}
	return blobs, nil
}

// TarMember is a regular file of a tar that TarOf writes.
type TarMember struct {
	Name string
	Data []byte
}

// TarOf returns a tar of members, in order: regular files of mode 0644.
func TarOf(members ...TarMember) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, m := range members {
		tw.WriteHeader(&tar.Header{Name: m.Name, Mode: 0o644, Size: int64(len(m.Data)), Typeflag: tar.TypeReg})
		tw.Write(m.Data)
	}
	tw.Close()
	return b.Bytes()
}

// HeaderLayer is an uncompressed layer holding entries, in order; a
// regular file's Linkname is its content.
func HeaderLayer(t testing.TB, entries ...tar.Header) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range entries {
		data := h.Linkname
		if h.Typeflag == tar.TypeReg {
			h.Linkname, h.Size = "", int64(len(data))
		}
		tw.WriteHeader(&h)
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(data))
		}
	}
	tw.Close()
	raw := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// AMD64Index is an index whose one image, for linux/amd64, has layers.
func AMD64Index(t testing.TB, layers ...v1.Layer) v1.ImageIndex {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	return mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}})
}

// WalkImage calls f with each entry of img's layers stacked (whiteouts
// applied, as a container sees them), its absolute clean path and a reader
// of its contents, failing t when the layers do not read.
func WalkImage(t testing.TB, img v1.Image, f func(p string, h *tar.Header, r io.Reader)) {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	WalkTar(t, rc, func(h *tar.Header, r io.Reader) {
		f(path.Clean("/"+h.Name), h, r)
	})
}
