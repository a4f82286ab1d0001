package image

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/nubificus/bunix/internal/filekind"
	"github.com/nubificus/bunix/pkg/output"
)

// layoutDir puts an OCI layout into a directory. Each layer streams into a
// temporary file beside the blobs and is renamed to its digest once
// written, so that its bytes are written once.
type layoutDir struct {
	dir  string
	o    *options
	pool chunkPool
}

func (d *layoutDir) layer(lp *layerPlan) (blob, error) {
	blobs := filepath.Join(d.dir, "blobs", "sha256")
	if lp.blob != nil {
		return lp.blob.blob(), linkBlob(lp.blob, filepath.Join(blobs, lp.blob.Digest.Hex))
	}
	var b blob
	err := d.writeBlob(func(f *os.File) (string, error) {
		bw := bufio.NewWriterSize(f, 64<<10)
		var err error
		b, err = lp.encode(bw, d.o.compression, d.pool)
		if err == nil {
			err = bw.Flush()
		}
		return b.digest.Hex, err
	})
	if err != nil {
		return blob{}, err
	}
	return b, nil
}

// writeBlob has write fill a temporary file beside the blobs and return
// the hex digest of what it wrote, and renames the file to it once it is
// complete. It does not sync the file: syncLayout syncs every file of the
// layout at the end, at once, so that no blob waits for the disk before
// the next one is written; the disk writes start while write runs
// (output.Writeback), unless WithoutSync.
func (d *layoutDir) writeBlob(write func(*os.File) (string, error)) error {
	blobs := filepath.Join(d.dir, "blobs", "sha256")
	f, err := os.CreateTemp(blobs, ".layer-*")
	if err != nil {
		return fmt.Errorf("creating a layer blob: %w", err)
	}
	wb := &output.Writeback{}
	if !d.o.noSync {
		wb = output.StartWriteback(f)
	}
	hex, err := write(f)
	wb.Stop()
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(blobs, hex))
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// linkBlob makes p a symlink to the file of b, a layer written apart, after
// checking its size: the layout then costs no copy of the layer. A Nix
// output's link into the store is a reference Nix keeps alive.
func linkBlob(b *Blob, p string) error {
	f, err := openLayerBlob(b)
	if err != nil {
		return err
	}
	f.Close()
	if err := os.Symlink(b.Path, p); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("linking the layer blob: %w", err)
	}
	return nil
}

func (d *layoutDir) file(name string, data []byte) error {
	p := filepath.Join(d.dir, filepath.FromSlash(name))
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	// The umask does not get a say.
	if err := os.Chmod(p, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return nil
}

// writeLayoutDir writes images as an OCI image layout at path: it fills a
// temporary directory beside path (newLayoutTemp), syncs it (syncLayout,
// unless WithoutSync), then moves it into place and syncs the directory
// that holds path, so that path is either the whole new layout or what it
// was before, and the new layout is on disk once this returns. The images of a layout already at path under other names are
// carried over (readOldLayout); anything else there is left alone, with
// an error.
func writeLayoutDir(path string, images []*Image, o *options) (err error) {
	if err := CheckLayoutOutput(path); err != nil {
		return err
	}
	path = filepath.Clean(path)
	old, err := readOldLayout(path, images[0].RepoTags)
	if err != nil {
		return err
	}
	tmp, err := newLayoutTemp(path)
	if err != nil {
		return fmt.Errorf("creating a temporary directory for %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.remove()
			return
		}
		tmp.release()
	}()
	for _, dir := range []string{tmp.dir, filepath.Join(tmp.dir, "blobs"), filepath.Join(tmp.dir, "blobs", "sha256")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", dir, err)
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", dir, err)
		}
	}
	if err := writeOCI(&layoutDir{dir: tmp.dir, o: o, pool: newChunkPool(o.ctx)}, images, o, old); err != nil {
		return err
	}
	if old != nil {
		if err := old.carry(tmp.dir); err != nil {
			return err
		}
	}
	if !o.noSync {
		if err := syncLayout(o.ctx, tmp.dir); err != nil {
			return err
		}
	}
	if err := context.Cause(o.ctx); err != nil {
		return err
	}
	if err := moveIntoPlace(tmp.dir, path); err != nil {
		return err
	}
	if !o.noSync {
		// The rename, or the exchange, is durable once the directory
		// that holds path is.
		if err := syncPath(filepath.Dir(path)); err != nil {
			return fmt.Errorf("syncing the directory of %s: %w", path, err)
		}
	}
	return nil
}

// syncLayout makes the layout in dir durable before it is moved into
// place: every regular file in it (oci-layout, index.json, each blob,
// whether bunix wrote it, hard-linked it or copied it from the layout it
// replaces), several at once, then blobs/sha256, blobs and dir itself,
// which hold their names. A blob's bytes are mostly on disk by then
// (output.Writeback), so each fsync waits for little more than its tail.
// A symlink to a blob written apart (linkBlob) is a name its directory
// holds; its target is the Nix store's, not bunix's, to sync.
func syncLayout(ctx context.Context, dir string) error {
	blobs := filepath.Join(dir, "blobs", "sha256")
	files := []string{filepath.Join(dir, "oci-layout"), filepath.Join(dir, "index.json")}
	entries, err := os.ReadDir(blobs)
	if err != nil {
		return fmt.Errorf("syncing the layout: %w", err)
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			files = append(files, filepath.Join(blobs, e.Name()))
		}
	}
	work := make(chan string)
	errs := make(chan error, syncWorkers)
	for range syncWorkers {
		go func() {
			var first error
			for p := range work {
				if err := syncPath(p); err != nil && first == nil {
					first = fmt.Errorf("syncing %s: %w", p, err)
				}
			}
			errs <- first
		}()
	}
	for _, p := range files {
		if context.Cause(ctx) != nil {
			break
		}
		work <- p
	}
	close(work)
	for range syncWorkers {
		if e := <-errs; err == nil {
			err = e
		}
	}
	if err != nil {
		return err
	}
	if err := context.Cause(ctx); err != nil {
		return err
	}
	for _, p := range []string{blobs, filepath.Join(dir, "blobs"), dir} {
		if err := syncPath(p); err != nil {
			return fmt.Errorf("syncing %s: %w", p, err)
		}
	}
	return nil
}

// syncWorkers is how many files syncLayout syncs at once: the disk queues
// the writes of one while another waits.
const syncWorkers = 4

// syncPath opens p, a file or a directory, and fsyncs it. A test replaces
// it to see the calls.
var syncPath = func(p string) error {
	f, err := os.OpenFile(p, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// CheckLayoutOutput fails unless WritePath may put an OCI layout at path:
// nothing is there, or an empty directory, or a directory that holds an OCI
// layout and nothing else (oci-layout, index.json, blobs/sha256/<hex>
// files or symlinks), to which the image is then added. The error, an *output.Error
// unless path cannot be checked, names what else is there.
func CheckLayoutOutput(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("checking %s: %w", path, err)
	}
	if !fi.IsDir() {
		return output.Refuse(path, "exists and is %s, not a directory holding an OCI image layout: not replacing it", filekind.Of(fi.Mode()))
	}
	var others []string
	n := 0
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(path, p)
		switch {
		case rel == "." || (d.IsDir() && (rel == "blobs" || rel == filepath.Join("blobs", "sha256"))):
			return nil
		case d.Type().IsRegular() && (rel == "oci-layout" || rel == "index.json" || isBlob(rel)),
			d.Type()&fs.ModeSymlink != 0 && isBlob(rel):
			return nil
		}
		n++
		if len(others) < 5 {
			others = append(others, rel)
		}
		if d.IsDir() {
			return fs.SkipDir
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("checking %s: %w", path, err)
	}
	if n == 0 {
		return nil
	}
	more := ""
	if n > len(others) {
		more = fmt.Sprintf(" and %d more", n-len(others))
	}
	return output.Refuse(path, "holds more than an OCI image layout (%s%s): not replacing it; remove them or give another directory", strings.Join(others, ", "), more)
}

// isBlob reports whether rel is blobs/sha256/<64 hex digits>.
func isBlob(rel string) bool {
	hex, ok := strings.CutPrefix(filepath.ToSlash(rel), "blobs/sha256/")
	return ok && IsSHA256(v1.Hash{Algorithm: "sha256", Hex: hex})
}

// IsSHA256 reports whether h is a sha256 digest as OCI writes it: 64
// lower-case hex digits.
func IsSHA256(h v1.Hash) bool {
	if h.Algorithm != "sha256" || len(h.Hex) != 64 {
		return false
	}
	for _, c := range h.Hex {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// moveIntoPlace renames the directory tmp to path. When path exists, the two
// are swapped in one step and the old one is removed.
func moveIntoPlace(tmp, path string) error {
	err := os.Rename(tmp, path)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EEXIST) && !errors.Is(err, unix.ENOTEMPTY) {
		return fmt.Errorf("moving the new layout to %s: %w", path, err)
	}
	if err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, path, unix.RENAME_EXCHANGE); err != nil {
		return fmt.Errorf("replacing %s with the new layout: %w", path, err)
	}
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("removing the layout %s replaced: %w", path, err)
	}
	return nil
}
