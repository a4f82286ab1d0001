package image

import (
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// DefaultCreated is the creation time of an image when none is given: one
// second past the epoch, like Nix store files, so that builds are
// reproducible.
var DefaultCreated = time.Unix(1, 0).UTC()

// Layer is one layer of an image.
type Layer struct {
	// Entries are the file system objects of the layer. Missing parent
	// directories are added by the writer; order does not matter.
	Entries []Entry
	// CreatedBy describes the layer in the image history, e.g. "bunix: copy
	// /unikernel/kernel". It must not depend on where the sources live.
	CreatedBy string
}

// Image is a single-platform image for the os "linux".
type Image struct {
	// RepoTags name the image, e.g. "urunc/redis:test".
	RepoTags []string
	// Architecture is the Go/OCI architecture name, e.g. "amd64".
	Architecture string
	// Created is the image's creation time and the modification time of every
	// file in it; the zero time means DefaultCreated.
	Created time.Time
	// Config holds the runtime settings: Labels, Cmd, Entrypoint, Env.
	Config v1.Config
	Layers []Layer
}

func (img *Image) created() time.Time {
	if img.Created.IsZero() {
		return DefaultCreated
	}
	return img.Created.UTC().Truncate(time.Second)
}
