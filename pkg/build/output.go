package build

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/image"
	"github.com/nubificus/bunix/pkg/output"
	"github.com/nubificus/bunix/pkg/registry"
)

// IsUserError reports whether err says the input was wrong (the
// description, or the output path) rather than that something failed while
// working on good input. A network failure (registry.IsNetworkFailure)
// never is, even where a reader took the broken stream for a corrupt
// image.
func IsUserError(err error) bool {
	if registry.IsNetworkFailure(err) {
		return false
	}
	var oe *output.Error
	var be *BaseError
	var ie *image.InvalidError
	return args.IsUserError(err) || errors.As(err, &oe) || errors.As(err, &be) || errors.As(err, &ie)
}

// source is a path the build reads, and what names it in messages.
// An only source is read itself, not what lies below it (a directory
// that evaluating the description listed).
type source struct {
	path string
	what string
	only bool
}

// sourcesOf lists what a build of a reads: the description file, the
// files evaluating it read, and every source of r.
func sourcesOf(a *args.Args, r *args.Resolved) []source {
	var out []source
	// A Nix builder spec's File only names it ("bunix.buildImage
	// bench/nix"): no file of that name is read, and "/nix" is no source.
	if p := filepath.Join(a.Root, filepath.Base(a.File)); a.File != "" && isRegular(p) {
		out = append(out, source{path: p, what: "the description " + a.File})
	}
	for _, rd := range a.Reads {
		what := fmt.Sprintf("%s (evaluating %s read it)", rd.Path, a.File)
		fi, err := os.Stat(rd.Path)
		out = append(out, source{path: rd.Path, what: what, only: !rd.Tree && err == nil && fi.IsDir()})
	}
	copies := r.Copies
	if rf := r.Rootfs; rf != nil {
		copies = append(append([]args.Copy{}, copies...), rf.Include...)
		if rf.From != nil {
			copies = append(copies, *rf.From)
		}
	}
	for _, cp := range copies {
		out = append(out, source{path: cp.Source, what: cp.Where + ": " + cp.Field})
	}
	if r.From != nil && r.From.Path != "" {
		out = append(out, source{path: r.From.Path, what: r.From.Where + ": from"})
	}
	return out
}

// checkOutput refuses an output path that the build must not write: one
// that output.Check or image.CheckLayoutOutput refuses, one that is or
// lies inside a source, and an oci directory that holds a source. It
// reports whether out is a device or FIFO, written through.
func checkOutput(out string, b *batch) (device bool, err error) {
	return checkOutputFlag(out, b, b.format == image.OCILayout, "-o")
}

// checkOutputFlag is checkOutput of out, given as flag, a layout
// directory when layout is true.
func checkOutputFlag(out string, b *batch, layout bool, flag string) (device bool, err error) {
	refuse := func(reason string) (bool, error) { return false, &output.Error{Path: out, Reason: reason} }
	written := "the image"
	if flag == "--sbom" {
		written = "the SBOM"
	}
	if layout {
		if err := image.CheckLayoutOutput(out); err != nil {
			return refuse(outputReason(err))
		}
	} else {
		kind, err := output.Check(out)
		var oe *output.Error
		if errors.As(err, &oe) && oe.Suggested != "" {
			// Not a path this check would refuse in turn.
			if r, rerr := realPath(oe.Suggested); rerr == nil {
				if why := b.sourceClash(r, nil, false, written, flag); why != "" {
					return refuse(fmt.Sprintf("is a directory, and a file in it, such as %s, %s", oe.Suggested, why))
				}
			}
		}
		if err != nil {
			return refuse(outputReason(err))
		}
		if kind == output.Device {
			return true, nil
		}
	}
	real, err := realPath(out)
	if errors.Is(err, fs.ErrNotExist) {
		return refuse(fmt.Sprintf("its directory %s does not exist: create it first", filepath.Dir(filepath.Clean(out))))
	}
	if err != nil {
		return refuse(fmt.Sprintf("cannot be resolved: %v", err))
	}
	outInfo, _ := os.Stat(real)
	if why := b.sourceClash(real, outInfo, layout, written, flag); why != "" {
		return refuse(why)
	}
	if outInfo != nil && outInfo.Mode().IsRegular() {
		if what := b.hardLinked(outInfo); what != "" {
			return refuse(fmt.Sprintf("is %s, which the build reads (a hard link to it): writing %s there would destroy it; give %s another path", what, written, flag))
		}
	}
	return false, nil
}

// sourceClash says why the build must not write written (the image, the
// SBOM) to real, an output's resolved path (outInfo what is there, or
// nil), given as flag: it is a source, lies inside one, or, as a layout
// directory, holds one. It returns "" when none of these holds.
func (b *batch) sourceClash(real string, outInfo os.FileInfo, layout bool, written, flag string) string {
	for _, s := range b.sources {
		src, err := filepath.EvalSymlinks(s.path)
		if err != nil {
			// A missing source is reported by planning.
			continue
		}
		switch {
		case src == real, outInfo != nil && sameFile(outInfo, src):
			return fmt.Sprintf("is %s, which the build reads: writing %s there would destroy it; give %s another path", s.what, written, flag)
		case within(real, src) && !s.only:
			return fmt.Sprintf("lies inside %s (%s), which the build reads: give %s a path outside it", s.what, src, flag)
		case layout && within(src, real):
			return fmt.Sprintf("holds %s (%s), which the build reads and writing the layout would delete: give -o another directory", s.what, src)
		}
	}
	return ""
}

// outputReason is why output.Check or image.CheckLayoutOutput refused an
// output, without the path, which the output.Error names: the Reason of
// its *output.Error, or the whole message of another error.
func outputReason(err error) string {
	var oe *output.Error
	if errors.As(err, &oe) {
		return oe.Reason
	}
	return err.Error()
}

// hardLinked returns what copies the file fi into an image, a hard link of
// it inside a source directory included, or "".
func (b *batch) hardLinked(fi os.FileInfo) string {
	for _, j := range b.jobs {
		for _, e := range j.plannedEntries() {
			if e.Type == image.Regular && e.Source != "" && sameFile(fi, e.Source) {
				return e.Source + " (copied to " + e.Path + ")"
			}
		}
	}
	return ""
}

// realPath resolves the symlinks of p's directory, and of p itself where
// it is one; p need not exist.
func realPath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		return r, nil
	}
	dir, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, filepath.Base(abs)), nil
}

// within reports whether p lies strictly inside dir.
func within(p, dir string) bool {
	return strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}

// sameFile reports whether the file at p is fi (a hard link to it).
func sameFile(fi os.FileInfo, p string) bool {
	other, err := os.Stat(p)
	return err == nil && os.SameFile(fi, other)
}

// isRegular reports whether p is a regular file, through symlinks.
func isRegular(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
