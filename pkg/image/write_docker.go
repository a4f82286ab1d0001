package image

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// WriteDockerArchive writes img to w as a docker-archive tar with the
// default options: Write(w, []*Image{img}).
func (img *Image) WriteDockerArchive(w io.Writer) error {
	return Write(w, []*Image{img})
}

// writeDockerArchive writes img as a docker-archive tar, the format of
// `docker save` that `docker load` and `skopeo docker-archive:` read.
//
// The layers come first, as tars named layer-NNN.tar (.tar.gz, .tar.zst),
// then the config (named by its sha256) and manifest.json last. An
// uncompressed layer tar's size is known from its entries before any byte is
// read, so each source byte is read once, written once and hashed on the way
// to the diffIDs that the config lists. A compressed layer waits in a
// temporary file until its size is known.
func writeDockerArchive(w io.Writer, img *Image, o *options) error {
	plans, err := img.plan(o.maxLayers, o.compression)
	if err != nil {
		return err
	}
	t := newTarWriter(o.ctx, w, img.created())
	pool := newChunkPool(o.ctx)
	var names []string
	var blobs []blob
	if img.Base != nil {
		for i, l := range img.Base.Layers {
			name := fmt.Sprintf("layer-%03d.tar%s", i, extension[l.Compression])
			if err := t.addBase(name, l); err != nil {
				return fmt.Errorf("copying layer %d of the base %s (%s): %w", i, img.Base.Name, l.Digest, err)
			}
			names = append(names, name)
		}
	}
	for i, lp := range plans {
		name := fmt.Sprintf("layer-%03d.tar%s", len(names), extension[o.compression])
		b, err := t.addLayer(lp, name, o, pool)
		if err != nil {
			return fmt.Errorf("writing layer %d (%s): %w", i, lp.describe(), err)
		}
		names = append(names, name)
		blobs = append(blobs, b)
	}
	cfg, err := img.config(plans, blobs)
	if err != nil {
		return err
	}
	cfgName := fmt.Sprintf("%x.json", sha256.Sum256(cfg))
	manifest, err := json.Marshal(tarball.Manifest{{Config: cfgName, RepoTags: img.RepoTags, Layers: names}})
	if err != nil {
		return fmt.Errorf("encoding manifest.json: %w", err)
	}
	if err := t.addBytes(cfgName, cfg); err != nil {
		return err
	}
	if err := t.addBytes("manifest.json", manifest); err != nil {
		return err
	}
	return t.close()
}

var extension = map[Compression]string{Uncompressed: "", Gzip: ".gz", Zstd: ".zst"}
