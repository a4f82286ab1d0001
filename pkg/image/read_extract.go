package image

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/nubificus/bunix/internal/ctxio"
	"github.com/nubificus/bunix/internal/filekind"
)

// maxExtract caps the bytes Extract writes, all files together: a layer
// may declare (and, as a sparse file, expand to) far more than it stores.
var maxExtract int64 = 4 << 30

// Extract writes what img holds at p, an absolute clean path (a regular
// file, or a directory with everything under it), its layers stacked and
// their whiteouts applied, below dir, an existing empty directory, at the
// same path: dir + p, which is a regular file or a directory (never a
// symlink, which would lead a reader of dir + p elsewhere). Regular files keep their executable bit (0755, else
// 0644), directories are 0755, symlinks are kept as they are; a hard link
// is a copy of the file it links to, which must lie under p too. Every
// write goes through an os.Root at dir, so no entry reaches outside it.
// What img lacks at p, and an entry Extract cannot write, is an
// *InvalidError.
//
// A directory above p that is a symlink in the image (/app/x, where /app
// -> real) is followed inside the image, as Docker's COPY --from does: its
// target, absolute or relative, is read against the image's root, never
// the host's, ".." stopping at that root, and what the image holds at the
// path it leads to is written at dir + p. p itself is never followed.
func Extract(ctx context.Context, img v1.Image, p, dir string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	links := map[string]string{}
	found, err := extractAt(ctx, img, p, p, root, links)
	if err != nil {
		return err
	}
	if !found {
		src, ok, err := resolveParents(p, links)
		if err != nil {
			return err
		}
		if ok {
			if found, err = extractAt(ctx, img, src, p, root, nil); err != nil {
				return err
			}
		}
	}
	if !found {
		return invalidf("it has nothing at %s", p)
	}
	return checkExtracted(root, p)
}

// maxLinkHops is how many symlinks resolveParents follows, as Linux's
// path walk (ELOOP after 40).
const maxLinkHops = 40

// resolveParents follows the symlinks among p's parent directories, links
// mapping each symlink of the image to its target, within the image's
// root. It reports false when none of them is a link.
func resolveParents(p string, links map[string]string) (string, bool, error) {
	moved := false
	for hops := 0; ; hops++ {
		if hops > maxLinkHops {
			return "", false, invalidf("%s: more than %d symbolic links on the way (a loop?)", p, maxLinkHops)
		}
		parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
		cur, next := "/", ""
		for i := 0; i < len(parts)-1; i++ {
			at := path.Join(cur, parts[i])
			if l, ok := links[at]; ok {
				base := cur
				if path.IsAbs(l) {
					base = "/"
				}
				next = path.Join("/", base, l, path.Join(parts[i+1:]...))
				break
			}
			cur = at
		}
		if next == "" {
			return p, moved, nil
		}
		p, moved = next, true
	}
}

// extractAt writes what img holds at src (p, or where p's parents lead in
// the image) below root at p, and reports whether it held anything there.
// links, when not nil, gets every symlink of the image, by path.
func extractAt(ctx context.Context, img v1.Image, src, p string, root *os.Root, links map[string]string) (bool, error) {
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(ctxio.Reader(ctx, rc))
	found, entries, left := false, 0, maxExtract
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return false, invalidf("reading the image's files: %w", err)
		}
		if entries++; entries > MaxBaseEntries {
			return false, invalidf("the image holds more than %d entries, the most bunix reads", MaxBaseEntries)
		}
		name := path.Clean("/" + h.Name)
		if h.Typeflag == tar.TypeSymlink && links != nil {
			links[name] = h.Linkname
		}
		if !under(name, src) || name == "/" {
			continue
		}
		if src != p {
			name = path.Join(p, strings.TrimPrefix(name, src))
		}
		found = true
		if h.Size > left {
			return false, invalidf("%s is %d bytes, more than the %d bytes bunix extracts from an image", name, h.Size, maxExtract)
		}
		left -= max(h.Size, 0)
		rel := strings.TrimPrefix(name, "/")
		if err := root.MkdirAll(path.Dir(rel), 0o755); err != nil {
			return false, invalidf("writing %s: %w", name, err)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			err = root.MkdirAll(rel, 0o755)
		case tar.TypeReg:
			err = writeExtracted(ctx, root, rel, h.FileInfo().Mode(), tr)
		case tar.TypeSymlink:
			err = root.Symlink(h.Linkname, rel)
		case tar.TypeLink:
			target := path.Clean("/" + h.Linkname)
			if !under(target, src) {
				return false, invalidf("%s is a hard link to %s, which is not under %s: copy %s instead", name, target, src, target)
			}
			if src != p {
				target = path.Join(p, strings.TrimPrefix(target, src))
			}
			var f *os.File
			if f, err = root.Open(strings.TrimPrefix(target, "/")); err == nil {
				var fi os.FileInfo
				if fi, err = f.Stat(); err == nil && fi.Size() > left {
					err = fmt.Errorf("%s is %d bytes, more than the %d bytes bunix extracts from an image", target, fi.Size(), maxExtract)
				} else if err == nil {
					left -= fi.Size()
					err = writeExtracted(ctx, root, rel, fi.Mode(), f)
				}
				f.Close()
			}
		default:
			continue // devices, FIFOs: no file bunix copies
		}
		if err != nil {
			return false, invalidf("writing %s: %w", name, err)
		}
	}
	return found, nil
}

// checkExtracted checks what Extract wrote at p below root.
func checkExtracted(root *os.Root, p string) error {
	if p == "/" {
		return nil
	}
	// What is at p is what the caller reads below dir: a symlink there
	// would lead it out of dir (to the host's own files), and a device
	// or FIFO was not written at all.
	fi, err := root.Lstat(strings.TrimPrefix(p, "/"))
	switch {
	case err != nil:
		return invalidf("it has nothing bunix copies at %s (only a device or a FIFO): %w", p, err)
	case fi.Mode()&os.ModeSymlink != 0:
		target, _ := root.Readlink(strings.TrimPrefix(p, "/"))
		return invalidf("%s is a symbolic link (to %q), not a file or a directory: name the path it points to", p, target)
	case !fi.Mode().IsRegular() && !fi.IsDir():
		return invalidf("%s is %s, not a file or a directory", p, filekind.Of(fi.Mode()))
	}
	return nil
}

// under reports whether name is p or lies below it.
func under(name, p string) bool {
	return p == "/" || name == p || strings.HasPrefix(name, p+"/")
}

// writeExtracted writes r to rel below root, executable when mode says so.
func writeExtracted(ctx context.Context, root *os.Root, rel string, mode os.FileMode, r io.Reader) error {
	perm := os.FileMode(0o644)
	if mode&0o111 != 0 {
		perm = 0o755
	}
	f, err := root.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := ctxio.Copy(ctx, f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return root.Chmod(rel, perm)
}

// ExtractedPath is where Extract puts p below dir.
func ExtractedPath(dir, p string) string { return filepath.Join(dir, filepath.FromSlash(p)) }
