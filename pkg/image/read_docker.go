package image

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// DockerImage returns the image of f, a docker-archive, as a registry
// takes it, every layer read once first and checked as OpenBase checks a
// base's: its compression, its tar, and its diffID against the config's.
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
	stored, err := dockerLayers(f)
	if err != nil {
		return nil, err
	}
	// The tar of each layer is read and its entries counted, but no file
	// set is kept: a push needs none.
	entries := 0
	for i, s := range stored {
		l, err := s.check(ctx, diffIDs[i], nil, &entries)
		if err != nil {
			if context.Cause(ctx) != nil {
				return nil, context.Cause(ctx)
			}
			return nil, fmt.Errorf("layer %d (%s): %w", i, clip(names[i]), err)
		}
		layer, err := pushLayer(l)
		if err != nil {
			return nil, fmt.Errorf("layer %d (%s): %w", i, clip(names[i]), err)
		}
		img.layers = append(img.layers, layer)
	}
	return partial.CompressedToImage(img)
}

// pushLayer is the checked docker-archive layer l as a registry takes it:
// a gzip layer as it is stored, a plain one gzip-compressed on the way.
func pushLayer(l BaseLayer) (v1.Layer, error) {
	switch l.Compression {
	case Gzip:
		return partial.CompressedToLayer(&gzipDockerLayer{desc: v1.Descriptor{MediaType: types.DockerLayer, Digest: l.Digest, Size: l.Size}, diffID: l.DiffID, open: l.open})
	case Uncompressed:
		return partial.UncompressedToLayer(&plainDockerLayer{diffID: l.DiffID, open: l.open})
	}
	return nil, invalidf("it is %s-compressed, which a docker-archive cannot carry", l.Compression)
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
