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
)

// maxExtract caps the bytes Extract writes, all files together: a layer
// may declare (and, as a sparse file, expand to) far more than it stores.
var maxExtract int64 = 4 << 30

// Extract writes what img holds at p, an absolute clean path (a regular
// file, or a directory with everything under it), its layers stacked and
// their whiteouts applied, below dir, an existing empty directory, at the
// same path: dir + p. Regular files keep their executable bit (0755, else
// 0644), directories are 0755, symlinks are kept as they are; a hard link
// is a copy of the file it links to, which must lie under p too. Every
// write goes through an os.Root at dir, so no entry reaches outside it.
// What img lacks at p, and an entry Extract cannot write, is an
// *InvalidError.
func Extract(ctx context.Context, img v1.Image, p, dir string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
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
			return invalidf("reading the image's files: %w", err)
		}
		if entries++; entries > MaxBaseEntries {
			return invalidf("the image holds more than %d entries, the most bunix reads", MaxBaseEntries)
		}
		name := path.Clean("/" + h.Name)
		if !under(name, p) || name == "/" {
			continue
		}
		found = true
		if h.Size > left {
			return invalidf("%s is %d bytes, more than the %d bytes bunix extracts from an image", name, h.Size, maxExtract)
		}
		left -= max(h.Size, 0)
		rel := strings.TrimPrefix(name, "/")
		if err := root.MkdirAll(path.Dir(rel), 0o755); err != nil {
			return invalidf("writing %s: %w", name, err)
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
			if !under(target, p) {
				return invalidf("%s is a hard link to %s, which is not under %s: copy %s instead", name, target, p, target)
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
			return invalidf("writing %s: %w", name, err)
		}
	}
	if !found {
		return invalidf("it has nothing at %s", p)
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
