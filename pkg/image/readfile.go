package image

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"

	"github.com/nubificus/bunix/internal/ctxio"
)

// ReadFile returns the bytes of the regular file at p (absolute and clean)
// as b's layers leave it once stacked: the last layer that puts a regular
// file there, read again from the image file. A p that b's Files do not
// hold as a regular file is an error wrapping fs.ErrNotExist; a file over
// max bytes is an error.
func (b *Base) ReadFile(ctx context.Context, p string, max int64) ([]byte, error) {
	if t, ok := b.Files[p]; !ok || t != Regular {
		what := "no file"
		if ok {
			what = "a " + t.String() + ", not a regular file,"
		}
		return nil, fmt.Errorf("the image %s has %s at %s: %w", b.Name, what, p, fs.ErrNotExist)
	}
	var data []byte
	for i, l := range b.Layers {
		d, found, err := l.readFile(ctx, p, max)
		if err != nil {
			return nil, fmt.Errorf("reading %s from layer %d of %s: %w", p, i, b.Name, err)
		}
		if found {
			data = d
		}
	}
	if data == nil {
		return nil, fmt.Errorf("the image %s has no regular file at %s in its layers (a hard link?): %w", b.Name, p, fs.ErrNotExist)
	}
	return data, nil
}

// readFile returns the bytes of the regular file l puts at p, if any.
func (l BaseLayer) readFile(ctx context.Context, p string, max int64) (data []byte, found bool, err error) {
	rc, err := l.open()
	if err != nil {
		return nil, false, err
	}
	defer rc.Close()
	r, _, done, err := Decompress(bufio.NewReaderSize(ctxio.Reader(ctx, rc), 64<<10))
	if err != nil {
		return nil, false, err
	}
	defer done()
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return data, found, nil
		}
		if err != nil {
			return nil, false, invalidf("reading its tar: %w", err)
		}
		if path.Clean("/"+h.Name) != p || h.Typeflag != tar.TypeReg {
			continue
		}
		if h.Size > max {
			return nil, false, fmt.Errorf("%s is %d bytes, more than the %d bunix reads", p, h.Size, max)
		}
		if data, err = io.ReadAll(io.LimitReader(tr, max+1)); err != nil {
			return nil, false, invalidf("reading %s: %w", p, err)
		}
		found = true
	}
}
