package image

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"hash"
	"io"
	"runtime"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/zstd"
	"github.com/klauspost/pgzip"
)

// The settings that fix the compressed bytes. The number of cores only
// changes how many blocks are compressed at once.
const (
	gzipLevel     = 6
	gzipBlockSize = 1 << 20
	zstdWindow    = 8 << 20
)

// newCompressor returns a writer that compresses what it is given as c
// into w.
func newCompressor(w io.Writer, c Compression) (io.WriteCloser, error) {
	switch c {
	case Gzip:
		z, err := pgzip.NewWriterLevel(w, gzipLevel)
		if err != nil {
			return nil, err
		}
		// pgzip writes a zero ModTime as a time in year 1; the gzip
		// convention for "no time" is 0.
		z.ModTime = time.Unix(0, 0)
		if err := z.SetConcurrency(gzipBlockSize, 2*runtime.GOMAXPROCS(0)); err != nil {
			return nil, err
		}
		return z, nil
	case Zstd:
		return zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithWindowSize(zstdWindow))
	}
	return nil, fmt.Errorf("unknown compression %q", c)
}

// hashingWriter writes to w and hashes and counts what it writes.
type hashingWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (hw *hashingWriter) Write(b []byte) (int, error) {
	n, err := hw.w.Write(b)
	hw.h.Write(b[:n])
	hw.n += int64(n)
	return n, err
}

func (hw *hashingWriter) sum() v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", hw.h.Sum(nil))}
}

// maxZstdWindow caps the window a zstd base layer may ask its reader to
// hold: 128 MiB, zstd's long-distance maximum in its default mode.
const maxZstdWindow = 128 << 20

// Decompress returns the uncompressed stream of the layer br holds and its
// compression, told by its first bytes: gzip, zstd (with a window of at
// most maxZstdWindow, one goroutine, low memory) or none. done releases
// the decompressor. It is the one way bunix reads a foreign layer.
func Decompress(br *bufio.Reader) (r io.Reader, c Compression, done func(), err error) {
	if c, err = sniff(br); err != nil {
		return nil, "", nil, err
	}
	switch c {
	case Gzip:
		z, err := gzip.NewReader(br)
		if err != nil {
			return nil, "", nil, invalidf("decompressing: %w", err)
		}
		return z, c, func() { z.Close() }, nil
	case Zstd:
		z, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(maxZstdWindow))
		if err != nil {
			return nil, "", nil, invalidf("decompressing: %w", err)
		}
		return z, c, z.Close, nil
	}
	return br, c, func() {}, nil
}

// sniff tells a layer's compression from its first bytes.
func sniff(br *bufio.Reader) (Compression, error) {
	head, err := br.Peek(4)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", invalidf("reading: %w", err)
	}
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return Gzip, nil
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return Zstd, nil
	}
	return Uncompressed, nil
}
