package image

import (
	"io"
	"os"
	"path"
	"syscall"

	"github.com/nubificus/bunix/internal/filekind"
)

// rootBlobs reads the files of an OCI layout directory through an os.Root:
// no name, and no symlink on the way, resolves outside the directory, and
// only regular files are opened.
type rootBlobs struct{ r *os.Root }

func (d rootBlobs) open(name string) (io.ReadCloser, int64, error) {
	name = path.Clean(name)
	fi, err := d.r.Lstat(name)
	if err != nil {
		return nil, 0, err
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

// openLayout opens the OCI layout directory dir.
func openLayout(dir string) (*File, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	b := rootBlobs{r}
	if _, err := r.Lstat("oci-layout"); err != nil {
		r.Close()
		return nil, invalidf("a directory, but not an OCI image layout (no oci-layout file)")
	}
	f, err := openOCI(b, OCILayout)
	if err != nil {
		r.Close()
		return nil, err
	}
	f.closer = r
	return f, nil
}
