// Package inspect reads an image back, from a file in any format bunix
// writes or from a registry, and reports what urunc will see:
// names, platform, layers, files, the decoded /urunc.json and the labels.
package inspect

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/klauspost/compress/zstd"
	"github.com/nubificus/bunix/pkg/imagefile"
	"github.com/nubificus/bunix/pkg/urunc"
)

// Report describes one image.
type Report struct {
	RepoTags []string `json:"repoTags"`
	// Digest is the manifest's digest; empty for a docker-archive, which
	// has no manifest of its own.
	Digest string `json:"digest,omitempty"`
	// Annotations are the manifest's annotations (OCI images only).
	Annotations  map[string]string `json:"annotations,omitempty"`
	OS           string            `json:"os"`
	Architecture string            `json:"architecture"`
	Created      time.Time         `json:"created"`
	Cmd          []string          `json:"cmd,omitempty"`
	Entrypoint   []string          `json:"entrypoint,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	// Urunc holds /urunc.json decoded (short keys, plain values); nil when
	// the image has none.
	Urunc  map[string]string `json:"urunc,omitempty"`
	Layers []Layer           `json:"layers"`
}

// Layer describes one layer.
type Layer struct {
	DiffID    string `json:"diffID"`
	Size      int64  `json:"size"`
	CreatedBy string `json:"createdBy,omitempty"`
	Files     []File `json:"files"`
}

// File is one entry of a layer.
type File struct {
	Path     string      `json:"path"`
	Mode     fs.FileMode `json:"mode"`
	Size     int64       `json:"size"`
	Linkname string      `json:"linkname,omitempty"`
	UID      int         `json:"uid"`
	GID      int         `json:"gid"`
}

// DockerArchive reads the docker-archive tar at file: its headers once,
// then manifest.json, the config and each layer in place, each layer once,
// listing its files and checking its sha256 against the config's diffIDs.
// Gzip- and zstd-compressed layers (written by other tools) are read too.
func DockerArchive(file string) (*Report, error) {
	f, err := imagefile.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if f.Format != imagefile.DockerArchive {
		return nil, fmt.Errorf("reading %s: an %s, not a docker-archive", file, f.Format)
	}
	return dockerArchive(f, file)
}

func dockerArchive(f *imagefile.File, file string) (*Report, error) {
	var m tarball.Manifest
	if err := json.Unmarshal(member(f, "manifest.json"), &m); err != nil || len(m) == 0 {
		return nil, fmt.Errorf("reading %s: not a docker-archive: no readable manifest.json", file)
	}
	if len(m) != 1 {
		return nil, fmt.Errorf("reading %s: it holds %d images; bunix inspects one", file, len(m))
	}
	r := &Report{RepoTags: m[0].RepoTags, Layers: make([]Layer, len(m[0].Layers))}
	for i, name := range m[0].Layers {
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
	var cfg v1.ConfigFile
	if err := json.Unmarshal(member(f, m[0].Config), &cfg); err != nil {
		return nil, fmt.Errorf("reading the config %s of %s: %w", m[0].Config, file, err)
	}
	if err := r.applyConfig(&cfg, m[0].Layers); err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	return r, nil
}

// maxJSON bounds how much of a JSON file of the archive is read.
const maxJSON = 16 << 20

// member returns the start of the (small) file name of f, or nil.
func member(f *imagefile.File, name string) []byte {
	rc, err := f.Member(name)
	if err != nil {
		return nil
	}
	defer rc.Close()
	b, _ := io.ReadAll(io.LimitReader(rc, maxJSON))
	return b
}

// applyConfig fills in what the config says and checks the layers' hashes
// against its diffIDs; names name the layers in messages.
func (r *Report) applyConfig(cfg *v1.ConfigFile, names []string) error {
	if len(cfg.RootFS.DiffIDs) != len(r.Layers) {
		return fmt.Errorf("the config lists %d diffIDs for %d layers", len(cfg.RootFS.DiffIDs), len(r.Layers))
	}
	r.OS, r.Architecture, r.Created = cfg.OS, cfg.Architecture, cfg.Created.UTC()
	r.Cmd, r.Entrypoint, r.Labels = cfg.Config.Cmd, cfg.Config.Entrypoint, cfg.Config.Labels
	// History entries that made no layer are skipped.
	var history []string
	for _, h := range cfg.History {
		if !h.EmptyLayer {
			history = append(history, h.CreatedBy)
		}
	}
	for i := range r.Layers {
		if i < len(history) {
			r.Layers[i].CreatedBy = history[i]
		}
		if want := cfg.RootFS.DiffIDs[i].String(); r.Layers[i].DiffID != want {
			return fmt.Errorf("layer %d (%s) has sha256 %s, but the config says %s: the image is corrupt", i, names[i], r.Layers[i].DiffID, want)
		}
	}
	return nil
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
	r := &Report{RepoTags: tags, Digest: digest.String(), Annotations: m.Annotations, Layers: make([]Layer, len(m.Layers))}
	names := make([]string, len(m.Layers))
	for i, d := range m.Layers {
		names[i] = d.Digest.String()
		l, err := img.LayerByDigest(d.Digest)
		if err != nil {
			return nil, fmt.Errorf("reading layer %d (%s): %w", i, d.Digest, err)
		}
		rc, err := l.Compressed()
		if err != nil {
			return nil, fmt.Errorf("reading layer %d (%s): %w", i, d.Digest, err)
		}
		err = readLayer(rc, &r.Layers[i], r)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("reading layer %d (%s): %w", i, d.Digest, err)
		}
	}
	if err := r.applyConfig(cfg, names); err != nil {
		return nil, err
	}
	return r, nil
}

// Path reads the image file at p, in any format bunix writes: one report
// for each image in it.
func Path(p string) ([]*Report, error) {
	f, err := imagefile.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if f.Format == imagefile.DockerArchive {
		r, err := dockerArchive(f, p)
		if err != nil {
			return nil, err
		}
		return []*Report{r}, nil
	}
	var out []*Report
	for i, img := range f.Images {
		r, err := Image(img, f.Tags)
		if err != nil {
			return nil, fmt.Errorf("reading image %d of %s: %w", i, p, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// Remote reads the image at ref in its registry, over plain HTTP if
// insecure: one report for each image, several for an index. Credentials
// come from the docker config and its credential helpers.
func Remote(ctx context.Context, ref string, insecure bool) ([]*Report, error) {
	var nameOpts []name.Option
	if insecure {
		nameOpts = append(nameOpts, name.Insecure)
	}
	r, err := name.ParseReference(ref, nameOpts...)
	if err != nil {
		return nil, fmt.Errorf("inspecting %q: not a file, and not a valid image reference: %w", ref, err)
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}
	desc, err := remote.Get(r, opts...)
	if err != nil {
		return nil, fmt.Errorf("inspecting %s: %w", ref, err)
	}
	var imgs []v1.Image
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, fmt.Errorf("inspecting %s: %w", ref, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, fmt.Errorf("inspecting %s: %w", ref, err)
		}
		for _, d := range im.Manifests {
			img, err := idx.Image(d.Digest)
			if err != nil {
				return nil, fmt.Errorf("inspecting %s: %w", ref, err)
			}
			imgs = append(imgs, img)
		}
	} else {
		img, err := desc.Image()
		if err != nil {
			return nil, fmt.Errorf("inspecting %s: %w", ref, err)
		}
		imgs = []v1.Image{img}
	}
	var out []*Report
	for _, img := range imgs {
		rep, err := Image(img, []string{ref})
		if err != nil {
			return nil, fmt.Errorf("inspecting %s: %w", ref, err)
		}
		out = append(out, rep)
	}
	return out, nil
}

// readLayer lists the files of one layer and sets its DiffID and Size.
func readLayer(rd io.Reader, l *Layer, r *Report) error {
	br := bufio.NewReader(rd)
	var src io.Reader = br
	magic, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return err
		}
		defer zr.Close()
		src = zr
	case bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br)
		if err != nil {
			return err
		}
		defer zr.Close()
		src = zr
	}
	h := sha256.New()
	counted := &countingWriter{w: h}
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
		l.Files = append(l.Files, File{Path: p, Mode: hdr.FileInfo().Mode(), Size: hdr.Size, Linkname: hdr.Linkname, UID: hdr.Uid, GID: hdr.Gid})
		if p == urunc.JSONPath && hdr.Typeflag == tar.TypeReg {
			data, err := io.ReadAll(io.LimitReader(tr, maxJSON))
			if err != nil {
				return err
			}
			if r.Urunc, err = urunc.DecodeJSON(data); err != nil {
				return err
			}
		}
	}
	// The tar reader stops at the end-of-archive marker: hash the rest too.
	if _, err := io.Copy(counted, src); err != nil {
		return err
	}
	l.DiffID = fmt.Sprintf("sha256:%x", h.Sum(nil))
	l.Size = counted.n
	return nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// WriteJSONList writes reports as one indented JSON list.
func WriteJSONList(w io.Writer, reports []*Report) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(reports)
}

// WriteJSON writes r as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(r)
}

// Files returns the file system the layers make together, in path order:
// a later layer's entry replaces an earlier one at the same path, and OCI
// whiteouts (.wh.NAME) remove what they name.
func (r *Report) Files() []File {
	fs := map[string]File{}
	for _, l := range r.Layers {
		for _, f := range l.Files {
			dir, base := path.Split(f.Path)
			if name, ok := strings.CutPrefix(base, ".wh."); ok {
				gone := path.Join(dir, name)
				for p := range fs {
					if p == gone || strings.HasPrefix(p, gone+"/") {
						delete(fs, p)
					}
				}
				continue
			}
			fs[f.Path] = f
		}
	}
	out := slices.Collect(maps.Values(fs))
	// With "/" as the lowest byte, a directory's entries follow it directly.
	key := func(f File) string { return strings.ReplaceAll(f.Path, "/", "\x00") }
	slices.SortFunc(out, func(a, b File) int { return strings.Compare(key(a), key(b)) })
	return out
}

// WriteText writes r for people: a summary, the decoded urunc settings, the
// file tree, the layers and the labels.
func (r *Report) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	kv := tabwriter.NewWriter(bw, 0, 4, 2, ' ', 0)
	fmt.Fprintf(kv, "Image\t%s\n", strings.Join(r.RepoTags, ", "))
	if r.Digest != "" {
		fmt.Fprintf(kv, "Digest\t%s\n", r.Digest)
	}
	fmt.Fprintf(kv, "Platform\t%s/%s\n", r.OS, r.Architecture)
	fmt.Fprintf(kv, "Created\t%s\n", r.Created.Format(time.RFC3339))
	if len(r.Entrypoint) > 0 {
		fmt.Fprintf(kv, "Entrypoint\t%s\n", quoteList(r.Entrypoint))
	}
	if len(r.Cmd) > 0 {
		fmt.Fprintf(kv, "Cmd\t%s\n", quoteList(r.Cmd))
	}
	kv.Flush()
	if r.Urunc == nil {
		fmt.Fprintf(bw, "\nurunc settings: none (no %s: urunc will not find its settings in this image's rootfs)\n", urunc.JSONPath)
	} else {
		fmt.Fprintf(bw, "\nurunc settings (%s, decoded)\n", urunc.JSONPath)
		writeMap(bw, r.Urunc)
	}
	fmt.Fprintf(bw, "\nFiles\n")
	writeTree(bw, r.Files())
	fmt.Fprintf(bw, "\nLayers\n")
	for i, l := range r.Layers {
		fmt.Fprintf(bw, "  %d  %s  %d bytes  %s\n", i, l.DiffID, l.Size, l.CreatedBy)
	}
	if len(r.Labels) > 0 {
		fmt.Fprintf(bw, "\nLabels\n")
		writeMap(bw, r.Labels)
	}
	if len(r.Annotations) > 0 {
		fmt.Fprintf(bw, "\nManifest annotations\n")
		writeMap(bw, r.Annotations)
	}
	return bw.Flush()
}

// writeTree draws files, sorted by path, as a tree under "/".
func writeTree(w io.Writer, files []File) {
	fmt.Fprintln(w, "  /")
	// last[d] says whether the entry at depth d is the last of its
	// directory, which decides the rails drawn below it.
	var last []bool
	for i, f := range files {
		parts := strings.Split(strings.TrimPrefix(f.Path, "/"), "/")
		depth := len(parts) - 1
		isLast := true
		for _, g := range files[i+1:] {
			if path.Dir(g.Path) == path.Dir(f.Path) {
				isLast = false
				break
			}
			if !strings.HasPrefix(g.Path, path.Dir(f.Path)+"/") && path.Dir(f.Path) != "/" {
				break
			}
		}
		last = append(last[:depth], isLast)
		var b strings.Builder
		b.WriteString("  ")
		for _, l := range last[:depth] {
			if l {
				b.WriteString("    ")
			} else {
				b.WriteString("│   ")
			}
		}
		if isLast {
			b.WriteString("└── ")
		} else {
			b.WriteString("├── ")
		}
		name := parts[depth]
		switch {
		case f.Mode.IsDir():
			name += "/"
		case f.Linkname != "":
			name += " -> " + f.Linkname
		default:
			name += fmt.Sprintf("  %d bytes", f.Size)
		}
		fmt.Fprintf(w, "%s%s  %s %d:%d\n", b.String(), name, f.Mode, f.UID, f.GID)
	}
}

func writeMap(w io.Writer, m map[string]string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(tw, "  %s\t%s\n", k, m[k])
	}
	tw.Flush()
}

func quoteList(l []string) string {
	b, _ := json.Marshal(l)
	return string(b)
}
