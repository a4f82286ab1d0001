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
	workDir string
}

// WithCreated sets the image's creation time and its files' modification
// time; the default is image.DefaultCreated.
func WithCreated(t time.Time) Option {
	return func(o *options) { o.created = t }
}

// WithWorkDir names the directory where Image writes the rootfs file it
// builds (an initrd or a block image); the caller removes it once the image
// is written. Without it, a rootfs to build is an error.
func WithWorkDir(dir string) Option {
	return func(o *options) { o.workDir = dir }
}

// Image returns the image r describes: one layer per copy, and one for the
// rootfs file if r has one, in target order, then one layer holding
// /urunc.json; Labels carrying the urunc settings in plain text; Env,
// Entrypoint and Cmd the process r describes. It reads the sources' metadata (not the bytes it copies)
// and reports, all at once, sources that are missing or unreadable, copies
// that collide, a prebuilt rootfs that is not what its type says, a block
// image too small for its content, and binary, initrd or block paths that
// no file in the image provides. Only then does it write the rootfs file it
// builds, if any, into the work directory. r.Warnings are for the caller to
// show.
func Image(r *args.Resolved, opts ...Option) (*image.Image, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	mtime := o.created
	if mtime.IsZero() {
		mtime = image.DefaultCreated
	}

	var errs []error
	img := &image.Image{
		RepoTags:     []string{r.Ref},
		Architecture: r.Architecture,
		Created:      o.created,
		Config:       v1.Config{Labels: urunc.Labels(r.Settings), Env: r.Env, Entrypoint: r.Entrypoint, Cmd: r.Cmd},
		Annotations:  annotations(r),
	}
	paths := map[string]owner{}
	layers := map[string]image.Layer{}
	for _, cp := range r.Copies {
		entries, err := entriesOf(cp, paths)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		layers[cp.Target] = image.Layer{Entries: entries, CreatedBy: "bunix: copy " + cp.Target}
	}
	var plan *rootfsPlan
	if rf := r.Rootfs; rf != nil {
		var err error
		if plan, err = planRootfs(r, mtime); err != nil {
			errs = append(errs, err)
		}
		cp := args.Copy{Source: rf.Path, Target: rf.Path, Field: "rootfs.path", Where: r.Where("rootfs.path")}
		if prev, ok := paths[rf.Path]; ok {
			errs = append(errs, cp.Errorf("the rootfs file would go where %s already puts a %s: give rootfs.path another value", prev.copy.Field, prev.typ))
		}
		paths[rf.Path] = owner{cp, image.Regular}
	}
	errs = append(errs, dirConflicts(paths)...)
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
	if plan != nil {
		e, err := plan.write(o.workDir, mtime)
		if err != nil {
			return nil, err
		}
		layers[e.Path] = image.Layer{Entries: []image.Entry{e}, CreatedBy: "bunix: rootfs " + e.Path}
	}
	for _, target := range slices.Sorted(maps.Keys(layers)) {
		img.Layers = append(img.Layers, layers[target])
	}
	img.Layers = append(img.Layers, image.Layer{
		Entries:   []image.Entry{{Path: urunc.JSONPath, Type: image.Regular, Data: urunc.EncodeJSON(r.Settings)}},
		CreatedBy: "bunix: urunc settings " + urunc.JSONPath,
	})
	return img, nil
}

// dirConflicts reports each path under one that is not a directory: a file
// cannot stand where another copy needs a directory.
func dirConflicts(paths map[string]owner) []error {
	var errs []error
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		for dir := path.Dir(p); dir != "/"; dir = path.Dir(dir) {
			if o, ok := paths[dir]; ok && o.typ != image.Directory {
				errs = append(errs, paths[p].copy.Errorf("needs %s to be a directory, but %s puts a %s there", dir, o.copy.Field, o.typ))
				break
			}
		}
	}
	return errs
}

// entriesOf returns the entries that cp puts in the image, recording each
// path in paths, or an error that names cp: its source missing or
// unreadable, or one of its paths already taken.
func entriesOf(cp args.Copy, paths map[string]owner) ([]image.Entry, error) {
	entries, err := image.FromPath(cp.Source, cp.Target)
	if err != nil {
		return nil, sourceError(cp, err)
	}
	var errs []error
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
	return entries, errors.Join(errs...)
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

// annotations are the manifest annotations of the OCI formats: the urunc
// settings in plain text, as newer urunc reads them, and the image's title
// and version (its name and tag).
func annotations(r *args.Resolved) map[string]string {
	a := urunc.Labels(r.Settings)
	if name, tag, ok := strings.Cut(r.Ref[strings.LastIndex(r.Ref, "/")+1:], ":"); ok {
		a["org.opencontainers.image.title"] = r.Ref[:strings.LastIndex(r.Ref, "/")+1] + name
		a["org.opencontainers.image.version"] = tag
	}
	return a
}

// WriteOptions returns the image.Write options r asks for: its format,
// compression and layer cap.
func WriteOptions(r *args.Resolved) []image.Option {
	return []image.Option{image.WithFormat(r.Format), image.WithCompression(r.Compression), image.WithMaxLayers(r.MaxLayers)}
}
