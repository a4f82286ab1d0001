package registry

import (
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/nubificus/bunix/pkg/image"
)

// Get returns the images at ref: one, or each image of an index, at most
// image.MaxManifests of them. Their blobs are fetched when read, and
// checked against their digests as they are.
func Get(ctx context.Context, ref string, opts ...Option) ([]v1.Image, error) {
	o := makeOptions(opts)
	r, err := parseRef(ref, o.nameOptions()...)
	if err != nil {
		return nil, fmt.Errorf("fetching %q: %w: %v", ref, ErrBadReference, err)
	}
	desc, err := remote.Get(r, o.remoteOptions(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", ref, err)
	}
	if !desc.MediaType.IsIndex() {
		img, err := desc.Image()
		if err != nil {
			return nil, fmt.Errorf("fetching %s: %w", ref, err)
		}
		return []v1.Image{img}, nil
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", ref, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", ref, err)
	}
	if len(im.Manifests) > image.MaxManifests {
		return nil, fmt.Errorf("fetching %s: the index lists %d manifests, over the %d bunix reads", ref, len(im.Manifests), image.MaxManifests)
	}
	var imgs []v1.Image
	for _, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			return nil, fmt.Errorf("fetching %s: %w", ref, err)
		}
		imgs = append(imgs, img)
	}
	return imgs, nil
}
