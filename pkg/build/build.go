package build

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/nubificus/bunix/internal/msg"
	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/image"
	"github.com/nubificus/bunix/pkg/urunc"
	"golang.org/x/sys/unix"
)

// job is one image on its way from a description to bytes: checked and
// planned by planImage, its rootfs written and its layers put in order by
// finish.
type job struct {
	r      *args.Resolved
	img    *image.Image
	layers map[string]image.Layer // by target, without the rootfs one
	plan   *rootfsPlan            // nil without a rootfs
	mtime  time.Time
	// rootfsBlob is the rootfs layer built apart (WithPrebuilt), if any:
	// finish then builds no rootfs file.
	rootfsBlob *image.Blob
}

// generated stands for a file bunix itself writes, in collision messages.
var generated = args.Copy{Field: "bunix (the urunc settings)"}

// planImage returns the image r describes, but for its rootfs file, which
// finish writes: one layer per copy, and one for the rootfs file if r has
// one, in target order, then one layer holding /urunc.json; Labels carrying
// the urunc settings in plain text; Env, Entrypoint and Cmd the process r
// describes. It reads the
// sources' metadata and the first bytes of the kernel, the init and each
// executable (not the bytes it copies) and reports, all at once,
// sources that are missing or unreadable, copies that collide (with each
// other or with a file bunix writes), a prebuilt rootfs that is not what
// its type says, a block image too small for its content, binary,
// initrd or block paths that no file in the image provides, and a kernel,
// init or executable built for another architecture than the image's.
//
// On a base, the image starts with the base's layers and config (base.inherit),
// and binary, initrd and block may name files of the base.
func planImage(r *args.Resolved, created time.Time, b *base, setsCmd bool) (*job, error) {
	mtime := created
	if mtime.IsZero() {
		mtime = image.DefaultCreated
	}
	var errs []error
	j := &job{r: r, mtime: mtime, layers: map[string]image.Layer{}, img: &image.Image{
		RepoTags:     []string{r.Ref},
		Architecture: r.Architecture,
		Created:      created,
		Config:       v1.Config{Labels: urunc.Labels(r.Settings), Env: r.Env, Entrypoint: r.Entrypoint, Cmd: r.Cmd, WorkingDir: r.WorkingDir, User: r.User},
		Annotations:  annotations(r),
	}}
	if b != nil {
		j.img.Base = b.img
		j.img.Config = b.inherit(j.img.Config, setsCmd)
	}
	paths := map[string]owner{}
	guest := guestFilesOf(r)
	// failed are the targets of copies whose sources failed: a path under
	// one is missing because of that error, not reported again.
	var failed []string
	for _, cp := range r.Copies {
		entries, err := entriesOf(cp, paths)
		if err != nil {
			errs = append(errs, err)
			failed = append(failed, cp.Target)
			continue
		}
		errs = append(errs, guest.check(cp, entries, false)...)
		if err := layerPathLens(cp, entries); err != nil {
			errs = append(errs, err)
			continue
		}
		if len(entries) > 0 && entries[0].Path == "/" {
			// A tree out of an image copied to the root: the image's
			// root is no entry of a layer.
			entries = entries[1:]
		}
		j.layers[cp.Target] = image.Layer{Entries: entries, CreatedBy: "bunix: copy " + cp.Target}
	}
	paths[urunc.JSONPath] = owner{generated, image.Regular}
	if rf := r.Rootfs; rf != nil {
		var err error
		if j.plan, err = planRootfs(r, mtime); err != nil {
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
		fieldErr := func(reason string) error {
			return &args.FieldError{Where: r.Where(field), Field: field, Value: strconv.Quote(v), Reason: reason}
		}
		o, found := paths[v]
		if !found && slices.ContainsFunc(failed, func(t string) bool { return v == t || within(v, t) }) {
			continue
		}
		if !found && b != nil {
			if err := b.check(v); err != "" {
				errs = append(errs, fieldErr(err))
			}
			continue
		}
		switch {
		case found && o.copy.Field == generated.Field:
			errs = append(errs, fieldErr("names the file bunix writes the urunc settings to: name a file the image copies in"))
		case !found && holdsPaths(paths, v) != "":
			errs = append(errs, fieldErr("is a directory in the image (it holds "+holdsPaths(paths, v)+"): name a regular file"))
		case !found:
			errs = append(errs, fieldErr("no file in the image is at this path (the image holds: "+regularFiles(paths)+")"))
		case o.typ != image.Regular:
			errs = append(errs, fieldErr(fmt.Sprintf("must name a regular file, but %s puts a %s there", o.copy.Field, o.typ)))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := checkInit(j, b); err != nil {
		return nil, err
	}
	return j, nil
}

// finish writes the rootfs file j builds, if any, as an unnamed file in
// dir, and puts j's layers in order. Call the function it returns once the
// image is written: it closes that file, which removes it.
func (j *job) finish(ctx context.Context, dir string, c image.Compression) (done func(), err error) {
	done = func() {}
	if j.plan != nil && j.rootfsBlob != nil && j.rootfsBlob.Compression == c {
		// Built apart: its entry only names the file; the bytes come from
		// the blob.
		j.layers[j.plan.entry.Path] = image.Layer{Entries: []image.Entry{j.plan.entry}, CreatedBy: "bunix: rootfs " + j.plan.entry.Path, Blob: j.rootfsBlob}
	} else if j.plan != nil {
		e, closeRootfs, err := j.plan.write(ctx, dir, j.mtime)
		if err != nil {
			return nil, err
		}
		done = closeRootfs
		j.layers[e.Path] = image.Layer{Entries: []image.Entry{e}, CreatedBy: "bunix: rootfs " + e.Path}
	}
	for _, target := range slices.Sorted(maps.Keys(j.layers)) {
		j.img.Layers = append(j.img.Layers, j.layers[target])
	}
	j.img.Layers = append(j.img.Layers, image.Layer{
		Entries:   []image.Entry{{Path: urunc.JSONPath, Type: image.Regular, Data: urunc.EncodeJSON(j.r.Settings)}},
		CreatedBy: "bunix: urunc settings " + urunc.JSONPath,
	})
	return done, nil
}

// plannedEntries returns the entries j copies from disk, into the image or
// into the rootfs it builds.
func (j *job) plannedEntries() []image.Entry {
	var out []image.Entry
	for _, l := range j.layers {
		out = append(out, l.Entries...)
	}
	if j.plan != nil {
		out = append(append(out, j.plan.tree...), j.plan.entry)
	}
	return out
}

// layerPathLens refuses a copy that puts a path longer than image.MaxPath in
// the image, naming the first: a tree nested deep on disk, or copied
// under a long target. A directory of many such paths is one error.
func layerPathLens(cp args.Copy, entries []image.Entry) error {
	for _, e := range entries {
		if len(e.Path) > image.MaxPath {
			return cp.Errorf("puts %s in the image: no container runtime unpacks a path of more than %d bytes (PATH_MAX, 4096, with its NUL)", msg.Quote(e.Path, 80), image.MaxPath)
		}
	}
	return nil
}

// holdsPaths returns, for a message, up to three paths under dir, or ""
// when there is none.
func holdsPaths(paths map[string]owner, dir string) string {
	var under []string
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		if strings.HasPrefix(p, dir+"/") {
			if len(under) == 3 {
				return strings.Join(under, ", ") + ", ..."
			}
			under = append(under, p)
		}
	}
	return strings.Join(under, ", ")
}

// dirConflicts reports each copy that puts a path under one that is not a
// directory: a file cannot stand where another copy needs a directory. A
// copy is reported once for each such path, not once for every file it
// would put under it (a directory of 100,000 files is one message), and
// not at all where the copy puts that directory itself: entriesOf said so
// ("puts a directory at /etc, where ... already puts a file").
func dirConflicts(paths map[string]owner) []error {
	var errs []error
	seen := map[[2]string]bool{}
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		for dir := path.Dir(p); dir != "/"; dir = path.Dir(dir) {
			if o, ok := paths[dir]; ok && o.typ != image.Directory {
				cp := paths[p].copy
				if dir == cp.Target || within(dir, cp.Target) {
					break
				}
				if key := [2]string{cp.Field, dir}; !seen[key] {
					seen[key] = true
					errs = append(errs, pathErrorf(cp, dir, "needs %s to be a directory, but %s puts a %s there", dir, o.copy.Field, o.typ))
				}
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
		if base := path.Base(e.Path); strings.HasPrefix(base, image.WhiteoutPrefix) {
			errs = append(errs, cp.Errorf("puts %s in the image: a name starting with %q is a whiteout, which unpacking a layer deletes rather than creates; rename it", e.Path, image.WhiteoutPrefix))
			continue
		}
		if e.Type == image.Regular {
			if err := unix.Access(e.Source, unix.R_OK); err != nil {
				errs = append(errs, cp.Errorf("cannot be read: %s: %v", e.Source, err))
			}
		}
		if prev, ok := paths[e.Path]; ok && !(prev.typ == image.Directory && e.Type == image.Directory) {
			errs = append(errs, pathErrorf(cp, e.Path, "puts a %s at %s, where %s already puts a %s", e.Type, e.Path, prev.copy.Field, prev.typ))
			continue
		}
		paths[e.Path] = owner{cp, e.Type}
	}
	return entries, errors.Join(errs...)
}

// pathErrorf returns the error about cp putting, or needing, the path p
// in the image: about its target (shown as the value, not the source,
// which in Nix is a store path the user never wrote) when p is the target
// or lies above it, about its source when p is inside the tree it copies.
func pathErrorf(cp args.Copy, p string, format string, a ...any) error {
	if p == cp.Target || within(cp.Target, p) {
		return cp.TargetErrorf(format, a...)
	}
	return cp.Errorf(format, a...)
}

func sourceError(cp args.Copy, err error) error {
	var pe *fs.PathError
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOTDIR):
		missing := cp.Source
		if errors.As(err, &pe) {
			missing = pe.Path
		}
		if target, lerr := os.Readlink(missing); lerr == nil {
			return cp.Errorf("cannot be copied: %s is a dangling symlink (its target %s does not exist)", missing, target)
		}
		hint := ""
		if rest, ok := strings.CutPrefix(missing, nixStore); ok {
			hint = storeHint(rest)
		}
		if missing != cp.Source {
			return cp.Errorf("cannot be copied: %s does not exist%s", missing, hint)
		}
		return cp.Errorf("source does not exist (looked for %s%s)%s", cp.Source, cp.Origin(), hint)
	case errors.Is(err, fs.ErrPermission):
		return cp.Errorf("source cannot be read: %v", err)
	}
	return cp.Errorf("source cannot be copied: %v", err)
}

// storeHint says why the store path nixStore+rel is missing: the store
// object it is in is not built, or it is ("${drv}/nope", "${file}/x") and
// holds no such path.
func storeHint(rel string) string {
	name, inside, _ := strings.Cut(rel, "/")
	obj := nixStore + name
	fi, err := os.Stat(obj)
	switch {
	case err != nil || inside == "":
		return ": it is a Nix store path that is not built (or was collected): build it first, with nix-build of the expression that makes it (nix-store --realise cannot build an output path that was never built)"
	case !fi.IsDir():
		return fmt.Sprintf(": the store path %s is a file, with no %s in it: name the file itself, or a path inside a directory output", obj, inside)
	}
	return fmt.Sprintf(": the store path %s has no %s in it", obj, inside)
}

// nixStore is where derivation outputs live.
const nixStore = "/nix/store/"

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
		if m[p].typ != image.Regular || m[p].copy.Field == generated.Field {
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
