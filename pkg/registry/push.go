package registry

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/nubificus/bunix/internal/msg"
	"github.com/nubificus/bunix/pkg/image"
)

// Push sends the image file at file (docker-archive, oci-archive or OCI
// layout) to ref and returns the digest reference the registry now serves.
//
// An OCI file's single image manifest, or its whole index when it holds
// several images, is pushed byte for byte, so its digest and annotations
// are the local ones. A docker-archive carries no manifest: the registry gets
// one made by go-containerregistry, with gzip-compressed layers. After the
// push, the registry is asked for the manifest's digest, and a mismatch is an
// error: nothing is reported pushed that the registry does not serve.
//
// The file is read as image.Open reads it: an OCI layout's blobs only from
// inside it, each checked against its descriptor's digest and size, and
// all of them looked at before the first byte is sent. A docker-archive is
// pushed as image.DockerImage makes it: each layer read once first and
// checked against its config's diffIDs, its compression told by its own
// bytes.
func Push(ctx context.Context, file, ref string, opts ...Option) (name.Digest, error) {
	if _, err := makeOptions(opts).tag(ref); err != nil {
		return name.Digest{}, err
	}
	f, err := image.Open(file, image.FollowStoreLinks(image.NixStoreDir))
	if err != nil {
		return name.Digest{}, err
	}
	defer f.Close()
	return PushFile(ctx, f, file, ref, opts...)
}

// PushFile is Push of f, an image file already open (image.OpenReader
// opens one from standard input); file names it in errors.
func PushFile(ctx context.Context, f *image.File, file, ref string, opts ...Option) (name.Digest, error) {
	o := makeOptions(opts)
	tag, err := o.tag(ref)
	if err != nil {
		return name.Digest{}, err
	}
	remoteOpts := o.remoteOptions(ctx)

	var local v1.Hash
	switch {
	case len(f.Images) == 0:
		return name.Digest{}, fmt.Errorf("pushing %s: it holds no image", file)
	case len(f.Images) == 1:
		img := f.Images[0]
		if f.Format == image.DockerArchive {
			if img, err = image.DockerImage(ctx, f); err != nil {
				return name.Digest{}, fmt.Errorf("pushing %s: %w", file, err)
			}
		}
		if local, err = img.Digest(); err != nil {
			return name.Digest{}, fmt.Errorf("pushing %s: %w", file, err)
		}
		err = remote.Write(tag, img, remoteOpts...)
	default:
		if err := onePerPlatform(f.Index); err != nil {
			return name.Digest{}, fmt.Errorf("pushing %s to %s: %w", file, tag, err)
		}
		if local, err = f.Index.Digest(); err != nil {
			return name.Digest{}, fmt.Errorf("pushing %s: %w", file, err)
		}
		err = remote.WriteIndex(tag, f.Index, remoteOpts...)
	}
	if err != nil {
		return name.Digest{}, fmt.Errorf("pushing %s to %s: %w", file, tag, err)
	}
	desc, err := remote.Head(tag, remoteOpts...)
	if err != nil {
		return name.Digest{}, fmt.Errorf("pushing %s to %s: checking what the registry serves: %w", file, tag, err)
	}
	if desc.Digest != local {
		return name.Digest{}, fmt.Errorf("pushing %s to %s: the registry serves %s, not the pushed %s", file, tag, desc.Digest, local)
	}
	return tag.Context().Digest(local.String()), nil
}

// onePerPlatform refuses an index that names two images for one platform:
// under one tag, a puller gets the first and can never reach the other. An
// OCI layout that bunix build (or skopeo) filled with several images,
// each of its own name, is such an index; a multi-arch index is not.
// Attestation manifests (platform unknown/unknown) are not images.
func onePerPlatform(idx v1.ImageIndex) error {
	m, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	seen := map[string]v1.Descriptor{}
	for _, d := range m.Manifests {
		p := "(no platform)"
		if d.Platform != nil {
			p = d.Platform.String()
		}
		if p == "unknown/unknown" || d.Annotations["vnd.docker.reference.type"] != "" {
			continue
		}
		if prev, ok := seen[p]; ok {
			return &image.InvalidError{Err: fmt.Errorf("it holds two images for %s, %s and %s: a tag takes one image, or an index of one image for each platform; push each image from a layout of its own (bunix build --format oci -o DIR)", p, descName(prev), descName(d))}
		}
		seen[p] = d
	}
	return nil
}

// descName names the image d describes: its ref.name annotation, else its
// digest.
func descName(d v1.Descriptor) string {
	if n := d.Annotations["org.opencontainers.image.ref.name"]; n != "" {
		return msg.Quote(n, 80)
	}
	return d.Digest.String()
}
