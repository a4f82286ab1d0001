package registry

import (
	"context"
	"encoding/hex"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/nubificus/bunix/internal/ctxio"
	"github.com/nubificus/bunix/pkg/image"
)

// checkDiffIDs reads every layer of img, a docker-archive's image, and
// checks it against the diffID its config declares.
//
// A docker-archive has no manifest: ggcr makes one, and takes each layer's
// diffID from the config without reading the layer for it, so an archive
// whose layer bytes and config disagree would be pushed as an image that
// containerd refuses to unpack. Checking while uploading would miss the
// layers the registry already has, which are not sent; so each layer is
// read once before the push (its uncompressed bytes, hashed: for a plain
// layer a read of the file, cheap beside the gzip the push then makes of
// it). The fault is an *image.InvalidError that names the layer.
func checkDiffIDs(ctx context.Context, img v1.Image) error {
	cfg, err := img.ConfigFile()
	if err != nil {
		return &image.InvalidError{Err: fmt.Errorf("reading the config: %w", err)}
	}
	layers, err := img.Layers()
	if err != nil {
		return &image.InvalidError{Err: fmt.Errorf("reading the layers: %w", err)}
	}
	// ggcr computes a gzip layer's diffID from its contents, so the
	// config's list is the one to compare with.
	diffIDs := cfg.RootFS.DiffIDs
	if len(diffIDs) != len(layers) {
		return &image.InvalidError{Err: fmt.Errorf("the config declares %d diffIDs for %d layers", len(diffIDs), len(layers))}
	}
	for i, l := range layers {
		diffID := diffIDs[i]
		if err := checkDiffID(ctx, l, diffID); err != nil {
			if ctx.Err() != nil {
				return err
			}
			return &image.InvalidError{Err: fmt.Errorf("layer %d (diffID %s): %w", i, diffID, err)}
		}
	}
	return nil
}

// checkDiffID hashes the uncompressed bytes of l and compares them with
// diffID, stopping between chunks when ctx is done.
func checkDiffID(ctx context.Context, l v1.Layer, diffID v1.Hash) error {
	h, err := v1.Hasher(diffID.Algorithm)
	if err != nil {
		return err
	}
	rc, err := l.Uncompressed()
	if err != nil {
		return fmt.Errorf("opening it: %w", err)
	}
	defer rc.Close()
	if _, err := ctxio.Copy(ctx, h, rc); err != nil {
		if ctx.Err() != nil {
			return err
		}
		return fmt.Errorf("reading it: %w", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != diffID.Hex {
		return fmt.Errorf("its contents have the digest %s:%s: the archive's layer and its config disagree", diffID.Algorithm, got)
	}
	return nil
}
