package image

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

	"github.com/nubificus/bunix/internal/filekind"
	"github.com/nubificus/bunix/pkg/output"
)

// oldLayout is the OCI layout already at an output path, which a new
// image joins: its images under other names stay (as skopeo and umoci add
// an image to a layout), an image under one of the new image's names is
// replaced.
type oldLayout struct {
	dir string
	// index is its index.json; nil when it has none (an empty directory).
	index *v1.IndexManifest
	// kept are the entries of index.json that stay.
	kept []v1.Descriptor
	// drop are the blobs only the replaced entries reach, which go with
	// them.
	drop map[string]bool
}

// readOldLayout reads the layout at path, which CheckLayoutOutput
// allowed, for an image named tags (none: an unnamed image, which
// replaces the unnamed entries). It returns nil when nothing is there.
// An index.json that cannot be read is an *output.Error: bunix cannot tell
// which images it would keep.
func readOldLayout(path string, tags []string) (*oldLayout, error) {
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	r, err := os.OpenRoot(path)
	if err != nil {
		return nil, fmt.Errorf("reading the layout at %s: %w", path, err)
	}
	defer r.Close()
	old := &oldLayout{dir: path, drop: map[string]bool{}}
	b := rootBlobs{r: r}
	if _, err := r.Lstat("index.json"); errors.Is(err, fs.ErrNotExist) {
		return old, nil
	}
	raw, err := readMember(b, "index.json")
	if err == nil {
		old.index, err = v1.ParseIndexManifest(bytes.NewReader(raw))
	}
	if err != nil {
		return nil, output.Refuse(path, "holds an OCI layout whose index.json bunix cannot read (%v): not writing over the images it may list; remove it or give another directory", err)
	}
	var replaced []v1.Descriptor
	for _, d := range old.index.Manifests {
		if name := d.Annotations[annotationRefName]; name == "" && len(tags) == 0 || name != "" && slices.Contains(tags, name) {
			replaced = append(replaced, d)
			continue
		}
		old.kept = append(old.kept, d)
	}
	gone := &reach{b: b, seen: map[v1.Hash]bool{}}
	for _, d := range replaced {
		gone.walk(d, 0)
	}
	stay := &reach{b: b, seen: map[v1.Hash]bool{}}
	for _, d := range old.kept {
		if err := stay.walk(d, 0); err != nil {
			// What the kept images need is not known: drop nothing.
			return old, nil
		}
	}
	for h := range gone.seen {
		if !stay.seen[h] {
			old.drop[h.Hex] = true
		}
	}
	return old, nil
}

// reach collects the blobs that descriptors reach in a layout: manifests,
// indexes, configs and layers, MaxManifests manifests at most, indexes
// MaxDepth deep.
type reach struct {
	b     blobs
	seen  map[v1.Hash]bool
	count int
}

func (r *reach) walk(d v1.Descriptor, depth int) error {
	if !IsSHA256(d.Digest) {
		return invalidf("descriptor of %s: not a sha256 digest", clip(d.Digest.String()))
	}
	if r.seen[d.Digest] {
		return nil
	}
	r.seen[d.Digest] = true
	switch {
	case d.MediaType.IsIndex():
		if r.count++; r.count > MaxManifests || depth >= MaxDepth {
			return invalidf("the layout nests more than %d manifests, or deeper than %d", MaxManifests, MaxDepth)
		}
		raw, err := readBlob(r.b, d)
		if err != nil {
			return err
		}
		idx, err := v1.ParseIndexManifest(bytes.NewReader(raw))
		if err != nil {
			return invalidf("index %s: %w", d.Digest, err)
		}
		for _, c := range idx.Manifests {
			if err := r.walk(c, depth+1); err != nil {
				return err
			}
		}
	case d.MediaType.IsImage():
		if r.count++; r.count > MaxManifests {
			return invalidf("the layout lists more than %d manifests", MaxManifests)
		}
		raw, err := readBlob(r.b, d)
		if err != nil {
			return err
		}
		m, err := v1.ParseManifest(bytes.NewReader(raw))
		if err != nil {
			return invalidf("manifest %s: %w", d.Digest, err)
		}
		for _, c := range append([]v1.Descriptor{m.Config}, m.Layers...) {
			if !IsSHA256(c.Digest) {
				return invalidf("manifest %s: a blob that is not a sha256 digest", d.Digest)
			}
			r.seen[c.Digest] = true
		}
	}
	return nil
}

// carry puts the blobs of the old layout that stay into the new one at
// dir, which holds the new image's already: each a hard link to the old
// file (a copy where the link is refused), or a symlink with the same
// target.
func (old *oldLayout) carry(dir string) error {
	from := filepath.Join(old.dir, "blobs", "sha256")
	to := filepath.Join(dir, "blobs", "sha256")
	entries, err := os.ReadDir(from)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the blobs of %s: %w", old.dir, err)
	}
	for _, e := range entries {
		name := e.Name()
		if !isBlob(filepath.Join("blobs", "sha256", name)) || old.drop[name] {
			continue
		}
		if _, err := os.Lstat(filepath.Join(to, name)); err == nil {
			continue // the new image wrote it too
		}
		if err := carryBlob(filepath.Join(from, name), filepath.Join(to, name)); err != nil {
			return fmt.Errorf("keeping the blob %s of %s: %w", name, old.dir, err)
		}
	}
	return nil
}

// carryBlob makes dst the blob src: a symlink to the same target, a hard
// link, or a copy.
func carryBlob(src, dst string) error {
	fi, err := os.Lstat(src)
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		return os.Symlink(target, dst)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("it is %s, not a regular file", filekind.Of(fi.Mode()))
	}
	if err := unix.Linkat(unix.AT_FDCWD, src, unix.AT_FDCWD, dst, 0); err == nil {
		return nil
	}
	in, err := os.OpenFile(src, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}
