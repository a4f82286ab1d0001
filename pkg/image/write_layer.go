package image

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"io"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/nubificus/bunix/pkg/output"
)

// layerPlan is a layer ready to stream: its entries in tar order, their
// mtime and the exact size of the layer tar. It may hold several of the
// image's Layers, merged. It does not keep the encoded headers, which
// stream encodes again one at a time: 100,000 files would hold 50 MB of
// them.
type layerPlan struct {
	entries []Entry
	mtime   time.Time
	size    int64
	// createdBy holds the CreatedBy of each Layer merged into this one.
	createdBy []string
	// blob is the layer written apart, if it was and is used.
	blob *Blob
}

// planLayer puts l's entries in tree order and encodes their headers with
// the given mtime, which fixes the layer tar's size before a byte is read.
func planLayer(l Layer, mtime time.Time) (*layerPlan, error) {
	entries, err := Tree(l.Entries)
	if err != nil {
		return nil, err
	}
	p := &layerPlan{entries: entries, mtime: mtime}
	var buf []byte
	for i := range entries {
		e := &entries[i]
		if e.Type == Regular && e.Source == "" {
			e.Size = int64(len(e.Data))
		}
		if e.Size < 0 {
			return nil, fmt.Errorf("%s: negative size %d", e.Path, e.Size)
		}
		if buf, err = p.header(buf[:0], i); err != nil {
			return nil, err
		}
		p.size += int64(len(buf))
		if e.Type == Regular {
			p.size += e.Size + padding(e.Size)
		}
	}
	p.size += 2 * blockSize // end-of-archive marker
	return p, nil
}

// describe names the layer in messages by what created it.
func (lp *layerPlan) describe() string {
	if n := len(lp.createdBy); n > 3 {
		return fmt.Sprintf("%s and %d more", strings.Join(lp.createdBy[:3], "; "), n-3)
	}
	return strings.Join(lp.createdBy, "; ")
}

var zeros [2 * blockSize]byte

// header appends the tar header of entry i to dst, the same bytes each
// time.
func (lp *layerPlan) header(dst []byte, i int) ([]byte, error) {
	return appendHeader(dst, header(lp.entries[i], lp.mtime))
}

// stream writes the layer tar into p. Once p has stopped (a write error,
// or its context), it opens no more sources: p.close reports why.
func (lp *layerPlan) stream(p *pipe) error {
	var h []byte
	for i, e := range lp.entries {
		if !p.ok() {
			return nil
		}
		var err error
		if h, err = lp.header(h[:0], i); err != nil {
			return err
		}
		p.Write(h)
		if e.Type != Regular {
			continue
		}
		if e.Source == "" {
			p.Write(e.Data)
		} else if err := p.copyFile(e); err != nil {
			return err
		}
		p.Write(zeros[:padding(e.Size)])
	}
	p.Write(zeros[:])
	return nil
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

// spool writes the layer, compressed as c, to an output.TempFile in dir ("" for
// os.TempDir): a compressed layer's size and digest, which an archive needs
// before its bytes, are known only once it is written. The caller closes
// the file, which removes it.
func (lp *layerPlan) spool(dir string, c Compression, pool chunkPool) (*output.TempFile, blob, error) {
	f, err := output.CreateTemp(dir, ".bunix-layer-*")
	if err != nil {
		return nil, blob{}, fmt.Errorf("creating a temporary file for a compressed layer: %w", err)
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	b, err := lp.encode(bw, c, pool)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		f.Close()
		return nil, blob{}, err
	}
	return f, b, nil
}
