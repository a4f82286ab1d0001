package image

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// containerdName returns the image reference ref ("x:t", "org/x:t") as
// containerd's own export writes it in io.containerd.image.name, and as
// crictl, nerdctl and Kubernetes look it up: normalized, with the registry
// spelled out ("docker.io/library/x:t", "docker.io/org/x:t"). A reference
// that does not parse is kept as it is.
func containerdName(ref string) string {
	tag, err := name.NewTag(ref)
	if err != nil {
		return ref
	}
	registry := tag.RegistryStr()
	if registry == name.DefaultRegistry {
		registry = "docker.io"
	}
	return registry + "/" + tag.RepositoryStr() + ":" + tag.TagStr()
}

// blobStore is where the OCI formats put their files: an archive or a
// directory.
type blobStore interface {
	// layer writes a layer blob and describes it.
	layer(lp *layerPlan) (blob, error)
	// file writes a file of the layout, such as index.json or a blob.
	file(name string, data []byte) error
	// baseLayer copies a base layer's blob as it is.
	baseLayer(l BaseLayer) error
}

// The annotations that name an image in an OCI layout: the first is what
// skopeo's oci: and oci-archive: transports match, the second what
// containerd names an imported image.
const (
	annotationRefName       = "org.opencontainers.image.ref.name"
	annotationContainerdRef = "io.containerd.image.name"
)

var layerMediaType = map[Compression]types.MediaType{
	Uncompressed: types.OCIUncompressedLayer,
	Gzip:         types.OCILayer,
	Zstd:         types.OCILayerZStd,
}

func blobPath(h v1.Hash) string {
	return "blobs/" + h.Algorithm + "/" + h.Hex
}

// writeOCI writes the OCI image layout of images to s: the blobs of each
// image, its config and manifest; with more than one image, an image index
// of their manifests; and index.json, which lists the entries of old that
// stay (a layout the image joins; nil for none), then names the image, or
// the index, once per tag.
func writeOCI(s blobStore, images []*Image, o *options, old *oldLayout) error {
	if err := s.file("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	descs := make([]v1.Descriptor, len(images))
	for i, img := range images {
		d, err := writeOCIImage(s, img, o)
		if err != nil {
			return err
		}
		descs[i] = d
	}
	top := descs[0]
	if len(images) > 1 {
		d, err := putJSON(s, "the image index", types.OCIImageIndex, &v1.IndexManifest{
			SchemaVersion: 2,
			MediaType:     types.OCIImageIndex,
			Manifests:     descs,
			Annotations:   commonAnnotations(images),
		})
		if err != nil {
			return err
		}
		top = d
	}
	index := &v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{}}
	if old != nil {
		index.Manifests = append(index.Manifests, old.kept...)
		if old.index != nil {
			index.Annotations = old.index.Annotations
		}
	}
	for _, tag := range images[0].RepoTags {
		d := top
		d.Annotations = map[string]string{annotationRefName: tag, annotationContainerdRef: containerdName(tag)}
		index.Manifests = append(index.Manifests, d)
	}
	if len(images[0].RepoTags) == 0 {
		index.Manifests = append(index.Manifests, top)
	}
	data, err := json.Marshal(index)
	if err != nil {
		return fmt.Errorf("encoding index.json: %w", err)
	}
	return s.file("index.json", data)
}

// writeOCIImage writes the layers, config and manifest of img to s, and
// returns the descriptor of the manifest.
func writeOCIImage(s blobStore, img *Image, o *options) (v1.Descriptor, error) {
	plans, err := img.plan(o.maxLayers, o.compression)
	if err != nil {
		return v1.Descriptor{}, err
	}
	m := &v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, Layers: []v1.Descriptor{}, Annotations: img.annotations()}
	if img.Base != nil {
		for i, l := range img.Base.Layers {
			if err := s.baseLayer(l); err != nil {
				return v1.Descriptor{}, fmt.Errorf("copying layer %d of the base %s (%s): %w", i, img.Base.Name, l.Digest, err)
			}
			m.Layers = append(m.Layers, v1.Descriptor{MediaType: l.MediaType, Size: l.Size, Digest: l.Digest})
		}
	}
	blobs := make([]blob, len(plans))
	for i, lp := range plans {
		b, err := s.layer(lp)
		if err != nil {
			return v1.Descriptor{}, fmt.Errorf("writing layer %d (%s): %w", i, lp.describe(), err)
		}
		blobs[i] = b
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: layerMediaType[o.compression], Size: b.size, Digest: b.digest})
	}
	cfg, err := img.config(plans, blobs)
	if err != nil {
		return v1.Descriptor{}, err
	}
	if m.Config, err = put(s, types.OCIConfigJSON, cfg); err != nil {
		return v1.Descriptor{}, err
	}
	d, err := putJSON(s, "the image manifest", types.OCIManifestSchema1, m)
	if err != nil {
		return v1.Descriptor{}, err
	}
	d.Platform = img.platform()
	return d, nil
}

func (img *Image) platform() *v1.Platform {
	return &v1.Platform{OS: "linux", Architecture: img.Architecture}
}

// annotations returns the manifest annotations of img, with the creation
// time unless they give one.
func (img *Image) annotations() map[string]string {
	a := map[string]string{annotationCreated: img.created().Format("2006-01-02T15:04:05Z")}
	maps.Copy(a, img.Annotations)
	return a
}

// commonAnnotations returns the annotations that every image has, with the
// same value: those of the index.
func commonAnnotations(images []*Image) map[string]string {
	common := images[0].annotations()
	for _, img := range images[1:] {
		a := img.annotations()
		for k, v := range common {
			if w, ok := a[k]; !ok || w != v {
				delete(common, k)
			}
		}
	}
	return common
}

// putJSON writes v as a blob of s.
func putJSON(s blobStore, what string, mt types.MediaType, v any) (v1.Descriptor, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("encoding %s: %w", what, err)
	}
	return put(s, mt, data)
}

// put writes data as a blob of s.
func put(s blobStore, mt types.MediaType, data []byte) (v1.Descriptor, error) {
	d := v1.Descriptor{MediaType: mt, Size: int64(len(data)), Digest: v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", sha256.Sum256(data))}}
	return d, s.file(blobPath(d.Digest), data)
}

// ociArchive puts an OCI layout into a tar.
type ociArchive struct {
	t    *tarWriter
	o    *options
	pool chunkPool
}

func (a *ociArchive) layer(lp *layerPlan) (blob, error) {
	return a.t.addLayer(lp, "", a.o, a.pool)
}

func (a *ociArchive) file(name string, data []byte) error {
	return a.t.addBytes(name, data)
}
