package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// emptyConfig is the OCI 1.1 empty descriptor's content, the config of an
// artifact that has none.
var emptyConfig = []byte("{}")

// emptyMediaType is the media type of the OCI 1.1 empty descriptor.
const emptyMediaType types.MediaType = "application/vnd.oci.empty.v1+json"

// artifact is an OCI 1.1 artifact manifest with a subject, pushed as is.
type artifact struct{ raw []byte }

func (a artifact) RawManifest() ([]byte, error)        { return a.raw, nil }
func (a artifact) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// Attach pushes data to the repository of subject as an OCI 1.1 artifact
// that refers to subject: a manifest with artifactType artifactType, the
// empty config, data as its one layer (of media type artifactType, titled
// title), and subject as its subject. A registry with the referrers API
// lists it there; on one without, go-containerregistry adds it to the
// index under the referrers tag schema's tag, "sha256-<hex>" of subject's
// digest. It returns the artifact manifest's reference.
func Attach(ctx context.Context, subject name.Digest, artifactType, title string, data []byte, opts ...Option) (name.Digest, error) {
	o := makeOptions(opts)
	ropts := o.remoteOptions(ctx)
	what := fmt.Sprintf("attaching %s to %s", title, subject)
	sub, err := remote.Head(subject, ropts...)
	if err != nil {
		return name.Digest{}, fmt.Errorf("%s: %w", what, err)
	}
	config := static.NewLayer(emptyConfig, emptyMediaType)
	layer := static.NewLayer(data, types.MediaType(artifactType))
	for _, l := range []v1.Layer{config, layer} {
		if err := remote.WriteLayer(subject.Context(), l, ropts...); err != nil {
			return name.Digest{}, fmt.Errorf("%s: uploading a blob: %w", what, err)
		}
	}
	desc := func(l v1.Layer, annotations map[string]string) v1.Descriptor {
		d, _ := l.Digest() // static layers: no error
		n, _ := l.Size()
		mt, _ := l.MediaType()
		return v1.Descriptor{MediaType: mt, Digest: d, Size: n, Annotations: annotations}
	}
	cfg := desc(config, nil)
	cfg.Data = emptyConfig
	raw, err := json.Marshal(v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		Config:        cfg,
		Layers:        []v1.Descriptor{desc(layer, map[string]string{"org.opencontainers.image.title": title})},
		Subject:       &v1.Descriptor{MediaType: sub.MediaType, Digest: sub.Digest, Size: sub.Size},
		ArtifactType:  artifactType,
	})
	if err != nil {
		return name.Digest{}, fmt.Errorf("%s: %w", what, err)
	}
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return name.Digest{}, fmt.Errorf("%s: %w", what, err)
	}
	ref := subject.Context().Digest(h.String())
	if err := remote.Put(ref, artifact{raw}, ropts...); err != nil {
		return name.Digest{}, fmt.Errorf("%s: pushing its manifest: %w", what, err)
	}
	return ref, nil
}
