// Package inspect reads an image back, from a file in any format bunix
// writes or fetched by package registry, and reports what urunc will see:
// names, platform, layers, files, the decoded /urunc.json and the labels.
//
// Images are foreign input: the listing of files stops at MaxListed
// entries (the rest are counted, and every layer is still read whole and
// checked), and the text report caps and escapes what it prints.
package inspect

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/nubificus/bunix/internal/msg"
	"github.com/nubificus/bunix/pkg/image"
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
	// Entrypoint, Cmd, Env (NAME=value) and WorkingDir are the config's
	// process fields, as the image carries them (a base's included).
	Cmd        []string          `json:"cmd,omitempty"`
	Entrypoint []string          `json:"entrypoint,omitempty"`
	Env        []string          `json:"env,omitempty"`
	WorkingDir string            `json:"workingDir,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	// Urunc holds /urunc.json decoded (short keys, plain values); nil when
	// the image has none.
	Urunc  map[string]string `json:"urunc,omitempty"`
	Layers []Layer           `json:"layers"`

	// listed and listedBytes count the entries listed so far, and the
	// bytes of their names, against MaxListed and maxListedBytes.
	listed, listedBytes int
}

// Layer describes one layer.
type Layer struct {
	DiffID    string `json:"diffID"`
	Size      int64  `json:"size"`
	CreatedBy string `json:"createdBy,omitempty"`
	Files     []File `json:"files"`
	// Omitted counts the entries of the layer not in Files: those past
	// the listing's cap, and those with names longer than maxPathLen.
	Omitted int `json:"omitted,omitempty"`
}

// File is one entry of a layer. In JSON its Mode is written as ls shows it
// ("mode": "drwxr-xr-x", fs.FileMode's String) and its permission bits,
// setuid, setgid and sticky included, in octal ("perm": "0755").
type File struct {
	Path     string
	Mode     fs.FileMode
	Size     int64
	Linkname string
	UID      int
	GID      int
}

// fileJSON is a File as JSON writes it.
type fileJSON struct {
	Path     string `json:"path"`
	Mode     string `json:"mode"`
	Perm     string `json:"perm"`
	Size     int64  `json:"size"`
	Linkname string `json:"linkname,omitempty"`
	UID      int    `json:"uid"`
	GID      int    `json:"gid"`
}

// MarshalJSON writes f with its mode as text.
func (f File) MarshalJSON() ([]byte, error) {
	return json.Marshal(fileJSON{Path: f.Path, Mode: f.Mode.String(), Perm: octal(f.Mode), Size: f.Size,
		Linkname: f.Linkname, UID: f.UID, GID: f.GID})
}

// UnmarshalJSON reads what MarshalJSON writes; the mode comes from "mode".
func (f *File) UnmarshalJSON(data []byte) error {
	var j fileJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	m, err := ParseMode(j.Mode)
	if err != nil {
		return err
	}
	*f = File{Path: j.Path, Mode: m, Size: j.Size, Linkname: j.Linkname, UID: j.UID, GID: j.GID}
	return nil
}

// octal renders m's permission bits, setuid, setgid and sticky included,
// as chmod takes them: "0755", "4755".
func octal(m fs.FileMode) string {
	p := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		p |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		p |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		p |= 0o1000
	}
	return fmt.Sprintf("%04o", p)
}

// modeLetters are fs.FileMode's type and special bits, from the highest,
// as its String writes them.
const modeLetters = "dalTLDpSugct?"

// ParseMode reads a mode as fs.FileMode's String writes it ("drwxr-xr-x",
// "Lrwxrwxrwx", "-rw-r--r--"): the letters of its type and special bits,
// in String's order, or "-" for none, then nine permission characters.
func ParseMode(s string) (fs.FileMode, error) {
	bad := func() (fs.FileMode, error) {
		return 0, fmt.Errorf("file mode %s is not one fs.FileMode writes, like \"drwxr-xr-x\"", msg.Quote(s, 64))
	}
	if len(s) < 10 {
		return bad()
	}
	kind, perm := s[:len(s)-9], s[len(s)-9:]
	var m fs.FileMode
	if kind != "-" {
		next := 0
		for i := 0; i < len(kind); i++ {
			j := strings.IndexByte(modeLetters[next:], kind[i])
			if j < 0 {
				return bad()
			}
			next += j
			m |= 1 << uint(31-next)
			next++
		}
	}
	for i := range 9 {
		switch perm[i] {
		case "rwxrwxrwx"[i]:
			m |= 1 << uint(8-i)
		case '-':
		default:
			return bad()
		}
	}
	return m, nil
}

const (
	// MaxListed caps the entries listed for one image, over all its
	// layers.
	MaxListed = 100_000
	// maxListedBytes caps the bytes of the names (paths and link targets)
	// listed for one image.
	maxListedBytes = 16 << 20
	// maxPathLen: an entry with a longer name cannot be unpacked, and is
	// counted, not listed.
	maxPathLen = image.MaxPath
)

// list adds f to l, unless the listing is full: then it only counts it.
func (r *Report) list(l *Layer, f File) {
	n := len(f.Path) + len(f.Linkname)
	if r.listed >= MaxListed || r.listedBytes+n > maxListedBytes || len(f.Path) > maxPathLen || len(f.Linkname) > maxPathLen {
		l.Omitted++
		return
	}
	r.listed++
	r.listedBytes += n
	l.Files = append(l.Files, f)
}

// Omitted counts the entries of all layers not listed.
func (r *Report) Omitted() int {
	n := 0
	for _, l := range r.Layers {
		n += l.Omitted
	}
	return n
}

// layerCount checks that cfg lists one diffID for each of n layers.
func layerCount(cfg *v1.ConfigFile, n int) error {
	if len(cfg.RootFS.DiffIDs) != n {
		return fmt.Errorf("the config lists %d diffIDs for %d layers", len(cfg.RootFS.DiffIDs), n)
	}
	return nil
}

// applyConfig fills in what the config says and checks the layers' hashes
// against its diffIDs; names name the layers in messages.
func (r *Report) applyConfig(cfg *v1.ConfigFile, names []string) error {
	if err := layerCount(cfg, len(r.Layers)); err != nil {
		return err
	}
	r.OS, r.Architecture, r.Created = cfg.OS, cfg.Architecture, cfg.Created.UTC()
	r.Cmd, r.Entrypoint, r.Labels = cfg.Config.Cmd, cfg.Config.Entrypoint, cfg.Config.Labels
	r.Env, r.WorkingDir = cfg.Config.Env, cfg.Config.WorkingDir
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

// WriteJSONAll writes reports as indented JSON: the report itself when
// there is one, else a list of them (an index's images).
func WriteJSONAll(w io.Writer, reports []*Report) error {
	if len(reports) == 1 {
		return reports[0].WriteJSON(w)
	}
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(reports)
}

// WriteTextAll writes the text of each report, a blank line between two.
func WriteTextAll(w io.Writer, reports []*Report) error {
	for i, r := range reports {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if err := r.WriteText(w); err != nil {
			return err
		}
	}
	return nil
}

// WriteJSON writes r as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(r)
}

// Files returns the file system the layers make together, in path order:
// a later layer's entry replaces an earlier one at the same path, an OCI
// whiteout (.wh.NAME) removes what it names from the layers below, and an
// opaque whiteout (.wh..wh..opq) the contents of its directory there.
func (r *Report) Files() []File {
	type entry struct {
		f     File
		layer int
	}
	files := map[string]entry{}
	// gone and opaque map a path to the highest layer that whites it
	// out, or makes the directory opaque; longest is their longest key.
	gone, opaque := map[string]int{}, map[string]int{}
	longest := 0
	for i, l := range r.Layers {
		for _, f := range l.Files {
			p, opq, ok := image.Whiteout(f.Path)
			switch {
			case !ok:
				files[f.Path] = entry{f, i}
				continue
			case opq:
				opaque[p] = i
			case p != "":
				gone[p] = i
			}
			longest = max(longest, len(p))
		}
	}
	// removed says whether a whiteout above layer removes p: one of p
	// itself, or of a directory above it, or an opaque directory above it.
	removed := func(p string, layer int) bool {
		if j, ok := gone[p]; ok && j > layer {
			return true
		}
		for q := p; q != "/"; {
			if i := strings.LastIndexByte(q, '/'); i > 0 {
				q = q[:i]
			} else {
				q = "/"
			}
			if len(q) > longest {
				continue
			}
			if j, ok := gone[q]; ok && j > layer {
				return true
			}
			if j, ok := opaque[q]; ok && j > layer {
				return true
			}
		}
		return false
	}
	out := make([]File, 0, len(files))
	for p, e := range files {
		if len(gone)+len(opaque) == 0 || !removed(p, e.layer) {
			out = append(out, e.f)
		}
	}
	// The layers' own order: a directory's entries follow it directly.
	slices.SortFunc(out, func(a, b File) int { return image.ComparePaths(a.Path, b.Path) })
	return out
}
