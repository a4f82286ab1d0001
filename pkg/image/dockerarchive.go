package image

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// copyBufferSize is the size of the buffer file contents move through.
const copyBufferSize = 1 << 20

// WriteDockerArchive writes img to w as a docker-archive tar, the format of
// `docker save` that `docker load` and `skopeo docker-archive:` read.
//
// The layers come first, as uncompressed tars named layer-NNN.tar, then the
// config (named by its sha256) and manifest.json last: the layer tars' sizes
// are known from the entries before any byte is read, so each source byte is
// read once, written once and hashed on the way to the diffIDs that the
// config lists.
func (img *Image) WriteDockerArchive(w io.Writer) error {
	mtime := img.created()
	plans := make([]*layerPlan, len(img.Layers))
	for i, l := range img.Layers {
		p, err := planLayer(l, mtime)
		if err != nil {
			return fmt.Errorf("planning layer %d (%s): %w", i, l.CreatedBy, err)
		}
		plans[i] = p
	}

	bw := bufio.NewWriterSize(w, copyBufferSize)
	tw := tar.NewWriter(bw)
	buf := make([]byte, copyBufferSize)
	cfg := img.configFile(mtime)
	var names []string
	for i, p := range plans {
		name := fmt.Sprintf("layer-%03d.tar", i)
		if err := tw.WriteHeader(archiveHeader(name, p.size, mtime)); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
		diffID, err := p.writeTo(tw, buf)
		if err != nil {
			return fmt.Errorf("writing layer %d (%s): %w", i, img.Layers[i].CreatedBy, err)
		}
		names = append(names, name)
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, diffID)
	}

	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("encoding image config: %w", err)
	}
	cfgName := fmt.Sprintf("%x.json", sha256.Sum256(cfgJSON))
	manifest, err := json.Marshal(tarball.Manifest{{Config: cfgName, RepoTags: img.RepoTags, Layers: names}})
	if err != nil {
		return fmt.Errorf("encoding manifest.json: %w", err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{cfgName, cfgJSON}, {"manifest.json", manifest}} {
		if err := tw.WriteHeader(archiveHeader(f.name, int64(len(f.data)), mtime)); err != nil {
			return fmt.Errorf("writing %s: %w", f.name, err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return fmt.Errorf("writing %s: %w", f.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("finishing the archive: %w", err)
	}
	return bw.Flush()
}

// archiveHeader is the header of a top-level file of the archive.
func archiveHeader(name string, size int64, mtime time.Time) *tar.Header {
	return header(Entry{Path: "/" + name, Type: Regular, Size: size}, mtime)
}

// configFile returns the image config without diffIDs: one history entry per
// layer, os linux, times fixed.
func (img *Image) configFile(created time.Time) *v1.ConfigFile {
	cfg := &v1.ConfigFile{
		Architecture: img.Architecture,
		Created:      v1.Time{Time: created},
		OS:           "linux",
		RootFS:       v1.RootFS{Type: "layers", DiffIDs: []v1.Hash{}},
		Config:       img.Config,
	}
	for _, l := range img.Layers {
		cfg.History = append(cfg.History, v1.History{Created: v1.Time{Time: created}, CreatedBy: l.CreatedBy})
	}
	return cfg
}
