package inspect

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/nubificus/bunix/internal/countio"
	"github.com/nubificus/bunix/pkg/image"
	"github.com/nubificus/bunix/pkg/urunc"
)

// DockerArchive reads the docker-archive tar at file: its headers once,
// then manifest.json, the config and each layer in place, each layer once,
// listing its files and checking its sha256 against the config's diffIDs.
// Gzip- and zstd-compressed layers (written by other tools) are read too.
func DockerArchive(file string) (*Report, error) {
	f, err := image.Open(file, image.FollowStoreLinks(image.NixStoreDir))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if f.Format != image.DockerArchive {
		return nil, fmt.Errorf("reading %s: an %s, not a docker-archive", file, f.Format)
	}
	return dockerArchive(f, file)
}

func dockerArchive(f *image.File, file string) (*Report, error) {
	m := f.Docker
	r := &Report{RepoTags: m.RepoTags, Layers: make([]Layer, len(m.Layers))}
	for i, name := range m.Layers {
		rc, err := f.Member(name)
		if err != nil {
			return nil, fmt.Errorf("reading %s: layer %d: %w", file, i, err)
		}
		err = readLayer(rc, &r.Layers[i], r)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("reading %s: layer %d (%s): %w", file, i, name, err)
		}
	}
	raw, err := f.ReadJSON(m.Config)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	var cfg v1.ConfigFile
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, &image.InvalidError{Err: fmt.Errorf("reading the config %s of %s: %w", m.Config, file, err)}
	}
	if err := r.applyConfig(&cfg, m.Layers); err != nil {
		return nil, &image.InvalidError{Err: fmt.Errorf("reading %s: %w", file, err)}
	}
	return r, nil
}

// Image reads img, an image from an OCI file or a registry, layer by layer.
// tags name it in the report.
func Image(img v1.Image, tags []string) (*Report, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("reading the manifest: %w", err)
	}
	digest, err := img.Digest()
	if err != nil {
		return nil, fmt.Errorf("reading the manifest: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the config: %w", err)
	}
	// Counted before any layer is read: a manifest that names one layer
	// 10,000 times beside a config of two diffIDs is refused at once, not
	// after reading the layer 10,000 times.
	if err := layerCount(cfg, len(m.Layers)); err != nil {
		return nil, &image.InvalidError{Err: err}
	}
	r := &Report{RepoTags: tags, Digest: digest.String(), Annotations: m.Annotations, Layers: make([]Layer, len(m.Layers))}
	names := make([]string, len(m.Layers))
	for i, d := range m.Layers {
		names[i] = d.Digest.String()
		if err := readImageLayer(img, d.Digest, &r.Layers[i], r); err != nil {
			return nil, fmt.Errorf("reading layer %d (%s): %w", i, d.Digest, err)
		}
	}
	if err := r.applyConfig(cfg, names); err != nil {
		return nil, &image.InvalidError{Err: err}
	}
	return r, nil
}

// readImageLayer reads the layer h of img into l, to its end, so that the
// blob's digest is checked.
func readImageLayer(img v1.Image, h v1.Hash, l *Layer, r *Report) error {
	cl, err := img.LayerByDigest(h)
	if err != nil {
		return err
	}
	rc, err := cl.Compressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := readLayer(rc, l, r); err != nil {
		return err
	}
	// A compressed stream may end before the blob does.
	_, err = io.Copy(io.Discard, rc)
	return err
}

// Path reads the image file at p, in any format bunix writes: one report
// for each image in it.
func Path(p string) ([]*Report, error) {
	f, err := image.Open(p, image.FollowStoreLinks(image.NixStoreDir))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Open(f, p)
}

// Open reads f, an open image file (name says which, in errors and in the
// report of a docker-archive): one report for each image in it.
func Open(f *image.File, name string) ([]*Report, error) {
	if f.Format == image.DockerArchive {
		r, err := dockerArchive(f, name)
		if err != nil {
			return nil, err
		}
		return []*Report{r}, nil
	}
	var out []*Report
	for i, img := range f.Images {
		r, err := Image(img, f.Names[i])
		if err != nil {
			return nil, fmt.Errorf("reading image %d of %s: %w", i, name, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// readLayer lists the files of one layer and sets its DiffID and Size.
func readLayer(rd io.Reader, l *Layer, r *Report) error {
	src, _, done, err := image.Decompress(bufio.NewReader(rd))
	if err != nil {
		return err
	}
	defer done()
	h := sha256.New()
	counted := &countio.Writer{W: h}
	tr := tar.NewReader(io.TeeReader(src, counted))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		p := path.Clean("/" + hdr.Name)
		r.list(l, File{Path: p, Mode: hdr.FileInfo().Mode(), Size: hdr.Size, Linkname: hdr.Linkname, UID: hdr.Uid, GID: hdr.Gid})
		if p == urunc.JSONPath && hdr.Typeflag == tar.TypeReg {
			if hdr.Size > urunc.MaxJSONSize {
				return fmt.Errorf("%s is %d bytes, over the %d-byte cap", urunc.JSONPath, hdr.Size, urunc.MaxJSONSize)
			}
			data, err := io.ReadAll(tr)
			if err != nil {
				return err
			}
			if r.Urunc, err = urunc.DecodeJSON(data); err != nil {
				return &image.InvalidError{Err: err}
			}
		}
	}
	// The tar reader stops at the end-of-archive marker: hash the rest too.
	if _, err := io.Copy(counted, src); err != nil {
		return err
	}
	l.DiffID = fmt.Sprintf("sha256:%x", h.Sum(nil))
	l.Size = counted.N
	return nil
}
