package image

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"

	"github.com/nubificus/bunix/internal/filekind"
)

// rootBlobs reads the files of an OCI layout directory through an os.Root:
// no name, and no symlink on the way, resolves outside the directory, and
// only regular files are opened.
// With a store (FollowStoreLinks), a blob may be a symlink into it.
type rootBlobs struct {
	r        *os.Root
	store    *os.Root // nil unless store links are followed
	storeDir string
}

func (d rootBlobs) open(name string) (io.ReadCloser, int64, error) {
	name = path.Clean(name)
	fi, err := d.r.Lstat(name)
	if err != nil {
		if dir := d.linkedDir(name); dir != "" && !errors.Is(err, fs.ErrNotExist) {
			// os.Root says only "path escapes from parent".
			return nil, 0, invalidf("%s: %s is a symbolic link that leads out of the layout", clip(name), clip(dir))
		}
		return nil, 0, err
	}
	if fi.Mode()&fs.ModeSymlink != 0 && d.store != nil && strings.HasPrefix(name, "blobs/") {
		return d.openStoreLink(name)
	}
	if !fi.Mode().IsRegular() {
		return nil, 0, invalidf("%s is not a regular file but %s", clip(name), filekind.Of(fi.Mode()))
	}
	f, err := d.r.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, 0, err
	}
	// It may have been replaced since the Lstat.
	if fi, err = f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = invalidf("%s is not a regular file but %s", clip(name), filekind.Of(fi.Mode()))
		}
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

// linkedDir returns the first directory on the way to name that is a
// symbolic link, or "" when there is none.
func (d rootBlobs) linkedDir(name string) string {
	parts := strings.Split(name, "/")
	for i := 1; i < len(parts); i++ {
		dir := strings.Join(parts[:i], "/")
		if fi, err := d.r.Lstat(dir); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return dir
		}
	}
	return ""
}

// openStoreLink opens the blob name, a symlink, at its target in the
// store: an absolute, clean path there, opened through the store's
// os.Root, that is a regular file.
func (d rootBlobs) openStoreLink(name string) (io.ReadCloser, int64, error) {
	target, err := d.r.Readlink(name)
	if err != nil {
		return nil, 0, err
	}
	rel, ok := strings.CutPrefix(target, d.storeDir+"/")
	if !ok || path.Clean(target) != target || rel == "" {
		return nil, 0, invalidf("%s is a symbolic link to %s, which is not a path in the Nix store %s", clip(name), clip(target), d.storeDir)
	}
	f, err := d.store.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, 0, fmt.Errorf("%s, a symbolic link into the Nix store: %w", clip(name), err)
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = invalidf("%s links to %s, which is not a regular file but %s", clip(name), clip(target), filekind.Of(fi.Mode()))
		}
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

// multiCloser closes the layout's root and the store's.
type multiCloser []io.Closer

func (m multiCloser) Close() error {
	var errs []error
	for _, c := range m {
		if c != nil {
			errs = append(errs, c.Close())
		}
	}
	return errors.Join(errs...)
}

// openLayout opens the OCI layout directory dir.
func openLayout(dir string, o *readOptions) (*File, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	b := rootBlobs{r: r, storeDir: o.storeDir}
	if o.storeDir != "" {
		// A store that is not there (no Nix here) only means no link can
		// be followed.
		b.store, _ = os.OpenRoot(o.storeDir)
	}
	closer := multiCloser{r}
	if b.store != nil {
		closer = append(closer, b.store)
	}
	if _, err := r.Lstat("oci-layout"); err != nil {
		closer.Close()
		return nil, invalidf("a directory, but not an OCI image layout (no oci-layout file)")
	}
	f, err := openOCI(b, OCILayout)
	if err != nil {
		closer.Close()
		return nil, err
	}
	f.closer = closer
	return f, nil
}
