package image

import (
	"crypto/sha256"
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

// blob is a layer as written: the sha256 of its tar (the diffID), and the
// sha256 and size of its bytes, compressed or not.
type blob struct {
	diffID, digest v1.Hash
	size           int64
	// check is the check sum of an uncompressed layer that lp.hash
	// described, which lp.rewrite compares.
	check uint64
}

// encode writes the layer tar to w, compressed as c, and describes what it
// wrote.
func (lp *layerPlan) encode(w io.Writer, c Compression, pool chunkPool) (blob, error) {
	if c == Uncompressed {
		return lp.pipeTo(w, pool, true, false)
	}
	out := &hashingWriter{w: w, h: sha256.New()}
	z, err := newCompressor(out, c)
	if err != nil {
		return blob{}, err
	}
	p := newPipe(z, pool, true, false)
	err = lp.stream(p)
	diffID, _, werr := p.close()
	if cerr := z.Close(); werr == nil {
		werr = cerr
	}
	if err == nil {
		err = werr
	}
	return blob{diffID: diffID, digest: out.sum(), size: out.n}, err
}

// hash describes the uncompressed layer without writing it, for rewrite to
// write.
func (lp *layerPlan) hash(pool chunkPool) (blob, error) {
	return lp.pipeTo(io.Discard, pool, true, true)
}

// rewrite writes the uncompressed layer that hash described to w. Rather
// than its sha256, it computes the check sum, and fails if that differs:
// a source file changed in between.
func (lp *layerPlan) rewrite(w io.Writer, b blob, pool chunkPool) error {
	again, err := lp.pipeTo(w, pool, false, true)
	if err == nil && again.check != b.check {
		err = fmt.Errorf("a source file changed while the image was written: the layer hashed to %s, then to other bytes", b.digest)
	}
	return err
}

// pipeTo writes the uncompressed layer to w through a pipe.
func (lp *layerPlan) pipeTo(w io.Writer, pool chunkPool, sha, check bool) (blob, error) {
	p := newPipe(w, pool, sha, check)
	err := lp.stream(p)
	sum, sum64, werr := p.close()
	if err == nil {
		err = werr
	}
	return blob{diffID: sum, digest: sum, size: p.n, check: sum64}, err
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
