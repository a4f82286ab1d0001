package image

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/nubificus/bunix/internal/ctxio"
)

// DockerImage returns the image of f, a docker-archive, as a registry
// takes it, every layer read once first and checked against the diffID
// the config lists for it.
//
// A docker-archive has no manifest: DockerImage makes one (Docker's
// schema 2) for the config as the archive has it. Each layer's compression
// is told by its own first bytes: a gzip layer is sent byte for byte, a
// plain one gzip-compressed on the way, as go-containerregistry does.
// (go-containerregistry's tarball package tells all the layers' from the
// first one's, and takes their diffIDs from the config unread: a base in
// plain layers under gzip ones of bunix's own would be sent wrong.) The
// layers must be as many as the config's diffIDs; a zstd layer, which no
// Docker format carries, is refused. A fault is an *InvalidError naming
// the layer; the checks stop with context.Cause(ctx) once ctx is done.
func DockerImage(ctx context.Context, f *File) (v1.Image, error) {
	if f.Format != DockerArchive || f.Docker == nil {
		return nil, fmt.Errorf("DockerImage of a %s: want a docker-archive", f.Format)
	}
	config, err := f.Images[0].RawConfigFile()
	if err != nil {
		return nil, invalidf("reading the config: %w", err)
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(config))
	if err != nil {
		return nil, invalidf("reading the config: %w", err)
	}
	names, diffIDs := f.Docker.Layers, cf.RootFS.DiffIDs
	if len(names) != len(diffIDs) {
		return nil, invalidf("manifest.json lists %d layers, but the config lists %d diffIDs", len(names), len(diffIDs))
	}
	img := &dockerImage{config: config}
	for i, name := range names {
		l, err := checkDockerLayer(ctx, f, cleanName(name), diffIDs[i])
		if err != nil {
			if context.Cause(ctx) != nil {
				return nil, err
			}
			return nil, invalidf("layer %d (%s): %w", i, clip(name), err)
		}
		img.layers = append(img.layers, l)
	}
	return partial.CompressedToImage(img)
}

// checkDockerLayer reads the archive member name whole: its compression
// from its first bytes, its digest when it is gzip, and its uncompressed
// digest, which must be diffID. It returns the layer to push.
func checkDockerLayer(ctx context.Context, f *File, name string, diffID v1.Hash) (v1.Layer, error) {
	rc, err := f.Member(name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	stored := &hashingWriter{w: io.Discard, h: sha256.New()}
	br := bufio.NewReaderSize(io.TeeReader(rc, stored), 64<<10)
	c, err := sniff(br)
	if err != nil {
		return nil, err
	}
	var plain io.Reader = br
	switch c {
	case Zstd:
		return nil, invalidf("it is zstd-compressed, which a docker-archive cannot carry")
	case Gzip:
		z, err := gzip.NewReader(br)
		if err != nil {
			return nil, invalidf("decompressing: %w", err)
		}
		defer z.Close()
		plain = z
	}
	diff := sha256.New()
	if _, err := ctxio.Copy(ctx, diff, plain); err != nil {
		if context.Cause(ctx) != nil {
			return nil, err
		}
		return nil, invalidf("reading: %w", err)
	}
	// What follows a gzip stream, and with it the whole member's digest.
	if _, err := ctxio.Copy(ctx, io.Discard, br); err != nil {
		return nil, err
	}
	if got := (v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", diff.Sum(nil))}); got != diffID {
		return nil, invalidf("its uncompressed digest is %s, but the config lists %s: the archive's layer and config disagree", got, diffID)
	}
	open := func() (io.ReadCloser, error) { return f.Member(name) }
	if c == Uncompressed {
		return partial.UncompressedToLayer(&plainDockerLayer{diffID: diffID, open: open})
	}
	desc := v1.Descriptor{MediaType: types.DockerLayer, Digest: stored.sum(), Size: stored.n}
	return partial.CompressedToLayer(&gzipDockerLayer{desc: desc, diffID: diffID, open: func() (io.ReadCloser, error) {
		rc, err := open()
		if err != nil {
			return nil, err
		}
		return newVerifier(rc, desc)
	}})
}

// plainDockerLayer is an uncompressed layer of a docker-archive, which
// partial.UncompressedToLayer gzip-compresses for the registry.
type plainDockerLayer struct {
	diffID v1.Hash
	open   func() (io.ReadCloser, error)
}

func (l *plainDockerLayer) DiffID() (v1.Hash, error)             { return l.diffID, nil }
func (l *plainDockerLayer) Uncompressed() (io.ReadCloser, error) { return l.open() }
func (l *plainDockerLayer) MediaType() (types.MediaType, error)  { return types.DockerLayer, nil }

// gzipDockerLayer is a gzip layer of a docker-archive, sent as it is
// stored, its digest and size checked as it is read again.
type gzipDockerLayer struct {
	desc   v1.Descriptor
	diffID v1.Hash
	open   func() (io.ReadCloser, error)
}

func (l *gzipDockerLayer) Digest() (v1.Hash, error)            { return l.desc.Digest, nil }
func (l *gzipDockerLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *gzipDockerLayer) Size() (int64, error)                { return l.desc.Size, nil }
func (l *gzipDockerLayer) Compressed() (io.ReadCloser, error)  { return l.open() }
func (l *gzipDockerLayer) MediaType() (types.MediaType, error) { return l.desc.MediaType, nil }

// dockerImage is a docker-archive's image for a registry: its config as
// the archive has it and a schema 2 manifest made for its layers.
type dockerImage struct {
	config []byte
	layers []v1.Layer
}

func (img *dockerImage) RawConfigFile() ([]byte, error) { return img.config, nil }

func (img *dockerImage) MediaType() (types.MediaType, error) {
	return types.DockerManifestSchema2, nil
}

func (img *dockerImage) RawManifest() ([]byte, error) {
	h, n, err := v1.SHA256(bytes.NewReader(img.config))
	if err != nil {
		return nil, err
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.DockerManifestSchema2,
		Config:        v1.Descriptor{MediaType: types.DockerConfigJSON, Size: n, Digest: h},
	}
	for _, l := range img.layers {
		d, err := partial.Descriptor(l)
		if err != nil {
			return nil, err
		}
		m.Layers = append(m.Layers, *d)
	}
	return json.Marshal(m)
}

func (img *dockerImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	for _, l := range img.layers {
		if d, err := l.Digest(); err == nil && d == h {
			return l, nil
		}
	}
	return nil, fmt.Errorf("no layer of digest %s", h)
}
