// Package inspect reads an image tar back and reports what urunc will see:
// names, platform, layers, files, the decoded /urunc.json and the labels.
package inspect

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/nubificus/bunix/pkg/urunc"
)

// Report describes one image.
type Report struct {
	RepoTags     []string          `json:"repoTags"`
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

// DockerArchive reads the docker-archive tar at file.
func DockerArchive(file string) (*Report, error) {
	opener := func() (io.ReadCloser, error) { return os.Open(file) }
	m, err := tarball.LoadManifest(opener)
	if err != nil {
		return nil, fmt.Errorf("reading %s: not a docker-archive: %w", file, err)
	}
	if len(m) != 1 {
		return nil, fmt.Errorf("reading %s: it holds %d images; bunix inspects one", file, len(m))
	}
	img, err := tarball.Image(opener, nil)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the config of %s: %w", file, err)
	}
	r := &Report{
		RepoTags: m[0].RepoTags, OS: cfg.OS, Architecture: cfg.Architecture, Created: cfg.Created.UTC(),
		Cmd: cfg.Config.Cmd, Entrypoint: cfg.Config.Entrypoint, Labels: cfg.Config.Labels,
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("reading the layers of %s: %w", file, err)
	}
	// History entries that made no layer are skipped.
	var history []string
	for _, h := range cfg.History {
		if !h.EmptyLayer {
			history = append(history, h.CreatedBy)
		}
	}
	for i, l := range layers {
		diffID, err := l.DiffID()
		if err != nil {
			return nil, fmt.Errorf("reading layer %d of %s: %w", i, file, err)
		}
		size, err := l.Size()
		if err != nil {
			return nil, fmt.Errorf("reading layer %d of %s: %w", i, file, err)
		}
		rl := Layer{DiffID: diffID.String(), Size: size}
		if i < len(history) {
			rl.CreatedBy = history[i]
		}
		rc, err := l.Uncompressed()
		if err != nil {
			return nil, fmt.Errorf("reading layer %d of %s: %w", i, file, err)
		}
		err = readLayer(rc, &rl, r)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("reading layer %d of %s: %w", i, file, err)
		}
		r.Layers = append(r.Layers, rl)
	}
	return r, nil
}

// maxUruncJSON bounds how much of /urunc.json is read.
const maxUruncJSON = 1 << 20

func readLayer(rc io.Reader, rl *Layer, r *Report) error {
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		p := path.Clean("/" + h.Name)
		rl.Files = append(rl.Files, File{Path: p, Mode: h.FileInfo().Mode(), Size: h.Size, Linkname: h.Linkname, UID: h.Uid, GID: h.Gid})
		if p == urunc.JSONPath && h.Typeflag == tar.TypeReg {
			data, err := io.ReadAll(io.LimitReader(tr, maxUruncJSON))
			if err != nil {
				return err
			}
			if r.Urunc, err = urunc.DecodeJSON(data); err != nil {
				return err
			}
		}
	}
}

// WriteJSON writes r as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(r)
}

// WriteText writes r for people: a summary, the layers with their files,
// the decoded urunc settings and the labels.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Image\t%s\n", strings.Join(r.RepoTags, ", "))
	fmt.Fprintf(tw, "Platform\t%s/%s\n", r.OS, r.Architecture)
	fmt.Fprintf(tw, "Created\t%s\n", r.Created.Format(time.RFC3339))
	if len(r.Entrypoint) > 0 {
		fmt.Fprintf(tw, "Entrypoint\t%s\n", quoteList(r.Entrypoint))
	}
	if len(r.Cmd) > 0 {
		fmt.Fprintf(tw, "Cmd\t%s\n", quoteList(r.Cmd))
	}
	fmt.Fprintf(tw, "\nLayers\t\n")
	for i, l := range r.Layers {
		fmt.Fprintf(tw, "  %d  %s\t%d bytes\t%s\n", i, l.DiffID, l.Size, l.CreatedBy)
		for _, f := range l.Files {
			name := f.Path
			if f.Linkname != "" {
				name += " -> " + f.Linkname
			}
			fmt.Fprintf(tw, "       %s %d:%d\t%d\t%s\n", f.Mode, f.UID, f.GID, f.Size, name)
		}
	}
	if r.Urunc == nil {
		fmt.Fprintf(tw, "\n%s\tnone: urunc will not find its settings in this image's rootfs\n", urunc.JSONPath)
	} else {
		fmt.Fprintf(tw, "\n%s (decoded)\t\n", urunc.JSONPath)
		for _, k := range sortedKeys(r.Urunc) {
			fmt.Fprintf(tw, "  %s\t%s\n", k, r.Urunc[k])
		}
	}
	if len(r.Labels) > 0 {
		fmt.Fprintf(tw, "\nLabels\t\n")
		for _, k := range sortedKeys(r.Labels) {
			fmt.Fprintf(tw, "  %s\t%s\n", k, r.Labels[k])
		}
	}
	return tw.Flush()
}

func quoteList(l []string) string {
	b, _ := json.Marshal(l)
	return string(b)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
