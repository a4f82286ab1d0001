package image

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/nubificus/bunix/internal/ctxio"
)

// checkBase reports what format f cannot hold of img's base (Holds).
func checkBase(img *Image, f Format) error {
	if img.Base == nil {
		return nil
	}
	for i, l := range img.Base.Layers {
		if !f.Holds(l.Compression) {
			return cannotHold(i, l.Digest.String(), l.Compression, f)
		}
	}
	return nil
}

// cannotHold is the error for layer i of a base, compressed as c, that the
// format f cannot hold.
func cannotHold(i int, digest string, c Compression, f Format) error {
	var names []string
	for _, h := range FormatsHolding(c) {
		names = append(names, fmt.Sprintf("format = %q", h))
	}
	return invalidf("layer %d (%s) is %s-compressed, which the %s format cannot hold (docker load refuses it): write %s", i, digest, c, f, strings.Join(names, " or "))
}

// copyBase copies the stored bytes of l to w, in pieces so that a
// cancelled write stops between two. l.open checks them against l's digest
// and size; the copy reads to EOF, where that check ends.
func copyBase(ctx context.Context, w io.Writer, l BaseLayer) error {
	rc, err := l.open()
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = ctxio.Copy(ctx, w, rc)
	return err
}

// addBase writes the base layer l into the archive as name.
func (t *tarWriter) addBase(name string, l BaseLayer) error {
	return t.add(name, l.Size, func(w io.Writer) error { return copyBase(t.ctx, w, l) })
}

func (a *ociArchive) baseLayer(l BaseLayer) error {
	return a.t.addBase(blobPath(l.Digest), l)
}

// baseLayer copies l into a temporary file beside the blobs, and renames
// it to its digest once it is complete.
func (d *layoutDir) baseLayer(l BaseLayer) error {
	return d.writeBlob(func(f *os.File) (string, error) {
		return l.Digest.Hex, copyBase(d.o.ctx, f, l)
	})
}
