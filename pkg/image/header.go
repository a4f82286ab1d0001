package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"strings"
	"time"
)

// header returns the tar header of e. It is the one place that decides what
// a file looks like in a layer: owner 0:0, no user or group names, the mode
// of Entry.Perm, and mtime as given.
func header(e Entry, mtime time.Time) *tar.Header {
	h := &tar.Header{
		Name:    strings.TrimPrefix(e.Path, "/"),
		ModTime: mtime,
		Mode:    int64(e.Perm()),
	}
	switch e.Type {
	case Directory:
		h.Typeflag = tar.TypeDir
		h.Name += "/"
	case Symlink:
		h.Typeflag = tar.TypeSymlink
		h.Linkname = e.Linkname
	default:
		h.Typeflag = tar.TypeReg
		h.Size = e.Size
	}
	return h
}

// encodeHeader returns the bytes archive/tar writes for h, extended (PAX)
// headers included, so that a layer's size is known before its contents are
// read.
func encodeHeader(h *tar.Header) ([]byte, error) {
	var buf bytes.Buffer
	if err := tar.NewWriter(&buf).WriteHeader(h); err != nil {
		return nil, fmt.Errorf("encoding tar header for %q: %w", h.Name, err)
	}
	return buf.Bytes(), nil
}

const blockSize = 512

// padding returns how many zero bytes follow size bytes of file contents.
func padding(size int64) int64 {
	return (blockSize - size%blockSize) % blockSize
}
