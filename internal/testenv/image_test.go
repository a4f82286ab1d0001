package testenv

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// TestWalkTar: every entry comes with its own contents, in order; a tar
// cut short fails the test.
func TestWalkTar(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range [][2]string{{"a", "one"}, {"dir/b", "two, longer"}, {"c", ""}} {
		if err := tw.WriteHeader(&tar.Header{Name: e[0], Mode: 0o644, Size: int64(len(e[1]))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	var got []string
	WalkTar(t, bytes.NewReader(buf.Bytes()), func(h *tar.Header, r io.Reader) {
		data, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, h.Name+"="+string(data))
	})
	if want := "a=one dir/b=two, longer c="; strings.Join(got, " ") != want {
		t.Errorf("walked %q, want %q", strings.Join(got, " "), want)
	}

	r := &recorder{TB: t}
	WalkTar(r, bytes.NewReader(buf.Bytes()[:1100]), func(*tar.Header, io.Reader) {})
	if r.fatal == "" {
		t.Error("a tar cut inside its second header walked without failing")
	}
}

// TestLayerBlobs: the blobs are the layers' compressed bytes, in order
// (they hash to the manifest's layer digests), and an error closing one is
// returned.
func TestLayerBlobs(t *testing.T) {
	img, err := random.Image(512, 3)
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := LayerBlobs(img)
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for _, b := range blobs {
		got = append(got, fmt.Sprintf("sha256:%x", sha256.Sum256(b)))
	}
	for _, l := range m.Layers {
		want = append(want, l.Digest.String())
	}
	if !slices.Equal(got, want) {
		t.Errorf("the blobs hash to %q, want the manifest's layers, %q", got, want)
	}

	broken := errors.New("the blob does not match its digest")
	if _, err := LayerBlobs(failingImage{img, broken}); !errors.Is(err, broken) {
		t.Errorf("a blob failing to close: %v, want %v", err, broken)
	}
}

// failingImage is an image whose layers' blobs read whole but fail to
// close, with err.
type failingImage struct {
	v1.Image
	err error
}

func (f failingImage) Layers() ([]v1.Layer, error) {
	layers, err := f.Image.Layers()
	if err != nil {
		return nil, err
	}
	for i, l := range layers {
		layers[i] = failingLayer{l, f.err}
	}
	return layers, nil
}

type failingLayer struct {
	v1.Layer
	err error
}

func (l failingLayer) Compressed() (io.ReadCloser, error) {
	rc, err := l.Layer.Compressed()
	if err != nil {
		return nil, err
	}
	return failingCloser{rc, l.err}, nil
}

type failingCloser struct {
	io.ReadCloser
	err error
}

func (c failingCloser) Close() error {
	c.ReadCloser.Close()
	return c.err
}
