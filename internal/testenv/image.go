package testenv

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
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
