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
	return appendHeader(nil, h)
}

// appendHeader appends the bytes archive/tar writes for h to dst. A header
// that fits one plain USTAR block, as nearly every header of a layer does,
// is written here directly: archive/tar allocates a writer and a buffer for
// each header, which cost a layer of 100,000 small files a sixth of its
// time, twice (once to plan its size, once to write it). FuzzAppendHeader
// holds the two to the same bytes.
func appendHeader(dst []byte, h *tar.Header) ([]byte, error) {
	if blk, ok := plainUSTAR(h); ok {
		return append(dst, blk[:]...), nil
	}
	buf := bytes.NewBuffer(dst)
	if err := tar.NewWriter(buf).WriteHeader(h); err != nil {
		return nil, fmt.Errorf("encoding tar header for %q: %w", h.Name, err)
	}
	return buf.Bytes(), nil
}

// plainUSTAR returns the block archive/tar writes for h when that is one
// USTAR block with no name prefix: a regular file, directory or symbolic
// link, with only a name, link name, mode, size and modification time, each
// fitting its field. For anything else it reports false, and archive/tar
// decides.
func plainUSTAR(h *tar.Header) (blk [blockSize]byte, ok bool) {
	switch h.Typeflag {
	case tar.TypeReg:
		if strings.HasSuffix(h.Name, "/") {
			return blk, false // archive/tar refuses it
		}
	case tar.TypeDir, tar.TypeSymlink:
	default:
		return blk, false
	}
	if h.Format != tar.FormatUnknown || h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" ||
		h.Devmajor != 0 || h.Devminor != 0 || len(h.PAXRecords) != 0 || len(h.Xattrs) != 0 {
		return blk, false
	}
	// archive/tar rounds the time of a header whose format is not chosen,
	// and writes a zero time as 0.
	var mtime int64
	if t := h.ModTime.Round(time.Second); !t.IsZero() {
		mtime = t.Unix()
	}
	if !plainString(h.Name) || h.Name == "" || !plainString(h.Linkname) ||
		!fitsOctal(h.Mode, 8) || !fitsOctal(h.Size, 12) || !fitsOctal(mtime, 12) {
		return blk, false
	}
	copy(blk[0:100], h.Name)
	putOctal(blk[100:108], h.Mode)
	putOctal(blk[108:116], 0) // uid
	putOctal(blk[116:124], 0) // gid
	putOctal(blk[124:136], h.Size)
	putOctal(blk[136:148], mtime)
	blk[156] = h.Typeflag
	copy(blk[157:257], h.Linkname)
	copy(blk[257:265], "ustar\x0000") // magic and version
	putOctal(blk[329:337], 0)         // devmajor
	putOctal(blk[337:345], 0)         // devminor
	// The checksum is the sum of the block's bytes, its own field counted
	// as spaces. Only the ranges written above are not zero.
	sum := int64(8 * ' ')
	for _, r := range [...][]byte{blk[:len(h.Name)], blk[100:148], blk[156 : 157+len(h.Linkname)], blk[257:265], blk[329:345]} {
		for _, c := range r {
			sum += int64(c)
		}
	}
	putOctal(blk[148:155], sum)
	blk[155] = ' '
	return blk, true
}

// plainString reports whether s fits a 100-byte USTAR field as it is:
// ASCII without NUL.
func plainString(s string) bool {
	if len(s) > 100 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] == 0 || s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// fitsOctal reports whether x fits a numeric field of n bytes as octal
// digits and a NUL.
func fitsOctal(x int64, n int) bool {
	return x >= 0 && x < 1<<(3*(n-1))
}

// putOctal writes x into b as archive/tar does: zero-padded octal digits
// and a NUL.
func putOctal(b []byte, x int64) {
	for i := len(b) - 2; i >= 0; i-- {
		b[i] = byte('0' + x&7)
		x >>= 3
	}
	b[len(b)-1] = 0
}

const blockSize = 512

// padding returns how many zero bytes follow size bytes of file contents.
func padding(size int64) int64 {
	return (blockSize - size%blockSize) % blockSize
}
