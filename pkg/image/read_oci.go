package image

import (
	"bytes"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// openOCI reads index.json of b and every manifest it lists, checking
// each, and that each image's config and layers are there.
func openOCI(b blobs, format Format) (*File, error) {
	raw, err := readMember(b, "index.json")
	if err != nil {
		return nil, err
	}
	idx, err := newIndex(b, raw)
	if err != nil {
		return nil, invalidf("reading index.json: %w", err)
	}
	f := &File{Format: format, Index: idx, files: b}
	w := walker{f: f, b: b, onPath: map[v1.Hash]bool{}}
	if err := w.walk(idx.manifest, nil, 0); err != nil {
		return nil, fmt.Errorf("reading index.json: %w", err)
	}
	if len(f.Images) == 0 {
		return nil, invalidf("index.json lists no image manifest")
	}
	// A multi-platform image is an index.json naming one nested index:
	// that index is the image to push.
	if m := idx.manifest.Manifests; len(m) == 1 && m[0].MediaType.IsIndex() {
		if f.Index, err = idx.ImageIndex(m[0].Digest); err != nil {
			return nil, fmt.Errorf("reading index.json: %w", err)
		}
	}
	return f, nil
}

// walker collects the images of an index tree.
type walker struct {
	f      *File
	b      blobs
	count  int
	onPath map[v1.Hash]bool
}

// walk adds the images m lists, and those of the indexes it nests, depth
// below index.json; names are the names of the index that lists m.
func (w *walker) walk(m *v1.IndexManifest, names []string, depth int) error {
	for _, d := range m.Manifests {
		if !d.MediaType.IsImage() && !d.MediaType.IsIndex() {
			continue
		}
		if w.count++; w.count > MaxManifests {
			return invalidf("it lists more than %d manifests, the most bunix reads", MaxManifests)
		}
		dn := names
		if n := d.Annotations[annotationRefName]; n != "" {
			dn = []string{n}
		}
		if d.MediaType.IsImage() {
			img, err := newImage(w.b, d)
			if err != nil {
				return fmt.Errorf("manifest %s: %w", d.Digest, err)
			}
			w.f.Images = append(w.f.Images, img)
			w.f.Names = append(w.f.Names, dn)
			continue
		}
		if depth+1 > MaxDepth {
			return invalidf("index %s: indexes nest deeper than %d", d.Digest, MaxDepth)
		}
		if w.onPath[d.Digest] {
			return invalidf("index %s lists itself, directly or through other indexes", d.Digest)
		}
		raw, err := readBlob(w.b, d)
		if err != nil {
			return fmt.Errorf("index %s: %w", d.Digest, err)
		}
		nested, err := v1.ParseIndexManifest(bytes.NewReader(raw))
		if err != nil {
			return invalidf("index %s: %w", d.Digest, err)
		}
		w.onPath[d.Digest] = true
		err = w.walk(nested, dn, depth+1)
		delete(w.onPath, d.Digest)
		if err != nil {
			return fmt.Errorf("index %s: %w", d.Digest, err)
		}
	}
	return nil
}

// ociIndex is an OCI image index whose blobs come from b.
type ociIndex struct {
	b        blobs
	raw      []byte
	manifest *v1.IndexManifest
}

func newIndex(b blobs, raw []byte) (*ociIndex, error) {
	m, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	return &ociIndex{b: b, raw: raw, manifest: m}, nil
}

func (i *ociIndex) MediaType() (types.MediaType, error) {
	if i.manifest.MediaType != "" {
		return i.manifest.MediaType, nil
	}
	return types.OCIImageIndex, nil
}
func (i *ociIndex) Digest() (v1.Hash, error)                  { return partial.Digest(i) }
func (i *ociIndex) Size() (int64, error)                      { return int64(len(i.raw)), nil }
func (i *ociIndex) IndexManifest() (*v1.IndexManifest, error) { return i.manifest.DeepCopy(), nil }
func (i *ociIndex) RawManifest() ([]byte, error)              { return i.raw, nil }

// child returns the descriptor of h in i.
func (i *ociIndex) child(h v1.Hash) (v1.Descriptor, error) {
	for _, d := range i.manifest.Manifests {
		if d.Digest == h {
			return d, nil
		}
	}
	return v1.Descriptor{}, invalidf("%s is not in the index", h)
}

func (i *ociIndex) Image(h v1.Hash) (v1.Image, error) {
	d, err := i.child(h)
	if err != nil {
		return nil, err
	}
	return newImage(i.b, d)
}

func (i *ociIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	d, err := i.child(h)
	if err != nil {
		return nil, err
	}
	raw, err := readBlob(i.b, d)
	if err != nil {
		return nil, fmt.Errorf("reading index %s: %w", h, err)
	}
	idx, err := newIndex(i.b, raw)
	if err != nil {
		return nil, invalidf("reading index %s: %w", h, err)
	}
	return idx, nil
}

// newImage reads and checks the manifest d describes, and checks that its
// config and layers are there, of the sizes it declares.
func newImage(b blobs, d v1.Descriptor) (v1.Image, error) {
	raw, err := readBlob(b, d)
	if err != nil {
		return nil, err
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, invalidf("%w", err)
	}
	if m.Config.Size > MaxJSON {
		return nil, invalidf("the config %s is %d bytes, over the %d-byte cap", m.Config.Digest, m.Config.Size, MaxJSON)
	}
	for _, l := range append([]v1.Descriptor{m.Config}, m.Layers...) {
		if err := checkBlob(b, l); err != nil {
			return nil, err
		}
	}
	mt := d.MediaType
	if m.MediaType != "" {
		mt = m.MediaType
	}
	return partial.CompressedToImage(&ociImage{b: b, raw: raw, manifest: m, mediaType: mt})
}

// ociImage is an OCI image whose blobs come from b.
type ociImage struct {
	b         blobs
	raw       []byte
	manifest  *v1.Manifest
	mediaType types.MediaType
}

func (i *ociImage) MediaType() (types.MediaType, error) { return i.mediaType, nil }
func (i *ociImage) RawManifest() ([]byte, error)        { return i.raw, nil }
func (i *ociImage) RawConfigFile() ([]byte, error) {
	raw, err := readBlob(i.b, i.manifest.Config)
	if err != nil {
		return nil, fmt.Errorf("reading the config: %w", err)
	}
	return raw, nil
}

func (i *ociImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	for _, d := range append([]v1.Descriptor{i.manifest.Config}, i.manifest.Layers...) {
		if d.Digest == h {
			return &ociLayer{b: i.b, desc: d}, nil
		}
	}
	return nil, invalidf("blob %s is not in the manifest", h)
}

type ociLayer struct {
	b    blobs
	desc v1.Descriptor
}

func (l *ociLayer) Digest() (v1.Hash, error)            { return l.desc.Digest, nil }
func (l *ociLayer) Size() (int64, error)                { return l.desc.Size, nil }
func (l *ociLayer) MediaType() (types.MediaType, error) { return l.desc.MediaType, nil }
func (l *ociLayer) Compressed() (io.ReadCloser, error)  { return openBlob(l.b, l.desc) }
