// Package build turns a resolved image description into an image. It is the
// one place both entry points go through, the CLI's `bunix build` and the
// Nix derivation's builder, so that their bytes match by construction.
package build

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/image"
	"github.com/nubificus/bunix/pkg/urunc"
	"golang.org/x/sys/unix"
)

// Option configures Image.
type Option func(*options)

type options struct {
	created time.Time
}

// WithCreated sets the image's creation time and its files' modification
// time; the default is image.DefaultCreated.
func WithCreated(t time.Time) Option {
	return func(o *options) { o.created = t }
}

// Image returns the image r describes: one layer per copy, in target order,
// then one layer holding /urunc.json; Labels carrying the urunc settings in
// plain text; Cmd the cmdline's words. It reads the sources' metadata (not
// their bytes) and reports, all at once, sources that are missing or
// unreadable, copies that collide, and binary, initrd or block paths that no
// file in the image provides.
func Image(r *args.Resolved, opts ...Option) (*image.Image, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	copies := append([]args.Copy(nil), r.Copies...)
	sort.Slice(copies, func(i, j int) bool { return copies[i].Target < copies[j].Target })

	var errs []error
	img := &image.Image{
		RepoTags:     []string{r.Ref},
		Architecture: r.Architecture,
		Created:      o.created,
		Config:       v1.Config{Labels: urunc.Labels(r.Settings), Cmd: r.Cmd},
	}
	paths := map[string]owner{}
	for _, cp := range copies {
		entries, err := image.FromPath(cp.Source, cp.Target)
		if err != nil {
			errs = append(errs, sourceError(cp, err))
			continue
		}
		for _, e := range entries {
			if e.Type == image.Regular {
				if err := unix.Access(e.Source, unix.R_OK); err != nil {
					errs = append(errs, cp.Errorf("cannot be read: %s: %v", e.Source, err))
				}
			}
			if prev, ok := paths[e.Path]; ok && !(prev.typ == image.Directory && e.Type == image.Directory) {
				errs = append(errs, cp.Errorf("puts a %s at %s, where %s already puts a %s", e.Type, e.Path, prev.copy.Field, prev.typ))
				continue
			}
			paths[e.Path] = owner{cp, e.Type}
		}
		img.Layers = append(img.Layers, image.Layer{Entries: entries, CreatedBy: "bunix: copy " + cp.Target})
	}
	// A file cannot stand where another copy needs a directory.
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		for dir := path.Dir(p); dir != "/"; dir = path.Dir(dir) {
			if o, ok := paths[dir]; ok && o.typ != image.Directory {
				errs = append(errs, paths[p].copy.Errorf("needs %s to be a directory, but %s puts a %s there", dir, o.copy.Field, o.typ))
				break
			}
		}
	}
	for _, k := range urunc.PathKeys {
		v, ok := r.Settings[k]
		if !ok {
			continue
		}
		field := "annotations." + k
		switch o, found := paths[v]; {
		case !found:
			errs = append(errs, &args.FieldError{Where: r.Where(field), Field: field, Value: strconv.Quote(v),
				Reason: "no file in the image is at this path (the image holds: " + regularFiles(paths) + ")"})
		case o.typ != image.Regular:
			errs = append(errs, &args.FieldError{Where: r.Where(field), Field: field, Value: strconv.Quote(v),
				Reason: fmt.Sprintf("must name a regular file, but %s puts a %s there", o.copy.Field, o.typ)})
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	img.Layers = append(img.Layers, image.Layer{
		Entries:   []image.Entry{{Path: urunc.JSONPath, Type: image.Regular, Data: urunc.EncodeJSON(r.Settings)}},
		CreatedBy: "bunix: urunc settings " + urunc.JSONPath,
	})
	return img, nil
}

func sourceError(cp args.Copy, err error) error {
	var pe *fs.PathError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if errors.As(err, &pe) && pe.Path != cp.Source {
			return cp.Errorf("cannot be copied: %s does not exist", pe.Path)
		}
		return cp.Errorf("source does not exist (looked for %s)", cp.Source)
	case errors.Is(err, fs.ErrPermission):
		return cp.Errorf("source cannot be read: %v", err)
	}
	return cp.Errorf("source cannot be copied: %v", err)
}

// owner is the copy that puts an entry at a path, and the entry's type.
type owner struct {
	copy args.Copy
	typ  image.Type
}

// regularFiles lists the regular files of the image for a message, at most
// ten of them.
func regularFiles(m map[string]owner) string {
	var out []string
	for _, p := range slices.Sorted(maps.Keys(m)) {
		if m[p].typ != image.Regular {
			continue
		}
		if len(out) == 10 {
			return strings.Join(out, ", ") + ", ..."
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return "no files"
	}
	return strings.Join(out, ", ")
}
