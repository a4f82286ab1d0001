package image

import (
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
