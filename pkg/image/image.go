package image

import (
	"encoding/json"
	"fmt"
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
	// Blob, when not nil, holds the layer already written (WriteLayer):
	// a write with its compression that keeps the layer alone (not merged
	// with others by the layer cap) takes the bytes and their digests from
	// it, and reads neither the sources nor the blob to hash them. Entries
	// must still describe the layer.
	Blob *Blob
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
	// Annotations go into the image's manifest in the OCI formats; the
	// docker-archive format has no place for them. The writer adds
	// org.opencontainers.image.created, from Created, unless it is given.
	Annotations map[string]string
	Layers      []Layer
	// Base, when set, is the image this one is written on: its layers come
	// first, as they are, and its history. Config is not merged with the
	// base's: the caller decides what is inherited.
	Base *Base
}

// annotationCreated is the OCI annotation for the creation time.
const annotationCreated = "org.opencontainers.image.created"

func (img *Image) created() time.Time {
	if img.Created.IsZero() {
		return DefaultCreated
	}
	return img.Created.UTC().Truncate(time.Second)
}

// config returns the image config: os linux, times fixed, one history
// entry per Layer and one diffID per written layer. Layers merged into the
// next written one are marked as empty in the history, so that the history
// keeps every step and as many non-empty entries as there are layers.
func (img *Image) config(plans []*layerPlan, blobs []blob) ([]byte, error) {
	created := v1.Time{Time: img.created()}
	cfg := &v1.ConfigFile{
		Architecture: img.Architecture,
		Created:      created,
		OS:           "linux",
		RootFS:       v1.RootFS{Type: "layers", DiffIDs: []v1.Hash{}},
		Config:       img.Config,
	}
	if img.Base != nil {
		cfg.History = img.Base.historyEntries()
		for _, l := range img.Base.Layers {
			cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, l.DiffID)
		}
	}
	for i, lp := range plans {
		for j, c := range lp.createdBy {
			cfg.History = append(cfg.History, v1.History{Created: created, CreatedBy: c, EmptyLayer: j < len(lp.createdBy)-1})
		}
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, blobs[i].diffID)
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("encoding the image config: %w", err)
	}
	return b, nil
}
