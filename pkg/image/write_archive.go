package image

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/nubificus/bunix/internal/ctxio"
)

// tarWriter writes the top-level tar of the archive formats. Every entry is
// a regular file, with the header that header gives it; entries are named
// once, so that blobs shared by images are written once.
type tarWriter struct {
	ctx   context.Context
	w     *bufio.Writer
	file  *os.File // what w writes to, when it is a file (or a pipe)
	mtime time.Time
	names map[string]bool
}

func newTarWriter(ctx context.Context, w io.Writer, mtime time.Time) *tarWriter {
	f, _ := w.(*os.File)
	return &tarWriter{ctx: ctx, w: bufio.NewWriterSize(w, 64<<10), file: f, mtime: mtime, names: map[string]bool{}}
}

// add writes the file name of size bytes, which write writes. It does
// nothing when the archive already has name.
func (t *tarWriter) add(name string, size int64, write func(io.Writer) error) error {
	if t.names[name] {
		return nil
	}
	t.names[name] = true
	h, err := encodeHeader(header(Entry{Path: "/" + name, Type: Regular, Size: size}, t.mtime))
	if err != nil {
		return err
	}
	if _, err := t.w.Write(h); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	cw := &countingWriter{w: t.w}
	if err := write(cw); err != nil {
		return err
	}
	if cw.n != size {
		return fmt.Errorf("writing %s: %d bytes were written for a %d-byte entry", name, cw.n, size)
	}
	if _, err := t.w.Write(zeros[:padding(size)]); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return nil
}

// addBytes writes the file name holding data.
func (t *tarWriter) addBytes(name string, data []byte) error {
	return t.add(name, int64(len(data)), func(w io.Writer) error {
		if _, err := w.Write(data); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
		return nil
	})
}

// addFile writes the file name holding the first size bytes of f. When the
// archive is an *os.File (a file, or a pipe such as standard output), the
// kernel copies the bytes (kernelCopy: copy_file_range, or sendfile)
// without them passing through memory here.
func (t *tarWriter) addFile(name string, f *os.File, size int64) error {
	return t.add(name, size, func(w io.Writer) error {
		var err error
		if t.file != nil {
			cw := w.(*countingWriter)
			if err = t.w.Flush(); err == nil {
				var n int64
				n, err = kernelCopy(t.ctx, t.file, f, 0, size)
				cw.n += n
			}
		} else if _, err = f.Seek(0, io.SeekStart); err == nil {
			_, err = ctxio.CopyN(t.ctx, w, f, size)
		}
		if err != nil && context.Cause(t.ctx) == nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
		return err
	})
}

// copyPiece is how much of a spooled or prebuilt layer kernelCopy asks
// the kernel to copy at once, between two checks of the context: a
// fraction of a second's work.
const copyPiece = 64 << 20

// close ends the archive.
func (t *tarWriter) close() error {
	if _, err := t.w.Write(zeros[:]); err != nil {
		return fmt.Errorf("finishing the archive: %w", err)
	}
	if err := t.w.Flush(); err != nil {
		return fmt.Errorf("finishing the archive: %w", err)
	}
	return nil
}

// countingWriter counts what it writes to w; it lets w read from a file
// itself, so that copy_file_range can be used.
type countingWriter struct {
	w *bufio.Writer
	n int64
}

func (cw *countingWriter) Write(b []byte) (int, error) {
	n, err := cw.w.Write(b)
	cw.n += int64(n)
	return n, err
}

func (cw *countingWriter) ReadFrom(r io.Reader) (int64, error) {
	n, err := cw.w.ReadFrom(r)
	cw.n += n
	return n, err
}

// addLayer writes the layer into the archive as name, or, when name is "",
// as blobs/sha256/<digest>, and describes what it wrote.
func (t *tarWriter) addLayer(lp *layerPlan, name string, o *options, pool chunkPool) (blob, error) {
	if lp.blob != nil {
		// Written apart: copied as it is, with the digests it comes with.
		f, err := openLayerBlob(lp.blob)
		if err != nil {
			return blob{}, err
		}
		defer f.Close()
		if name == "" {
			name = blobPath(lp.blob.Digest)
		}
		return lp.blob.blob(), t.addFile(name, f, lp.blob.Size)
	}
	if o.compression != Uncompressed {
		f, b, err := lp.spool(o.tempDir, o.compression, pool)
		if err != nil {
			return blob{}, err
		}
		defer f.Close()
		if name == "" {
			name = blobPath(b.digest)
		}
		return b, t.addFile(name, f.File, b.size)
	}
	if name != "" {
		var b blob
		err := t.add(name, lp.size, func(w io.Writer) (err error) {
			b, err = lp.encode(w, Uncompressed, pool)
			return err
		})
		return b, err
	}
	// The name is the digest, which the tar header needs before the bytes.
	// Reading the sources twice (the second time from the page cache) costs
	// less than writing the layer twice through a temporary file: hash the
	// layer, then write it, checking with a much cheaper sum that no source
	// changed in between.
	b, err := lp.hash(pool)
	if err != nil {
		return blob{}, err
	}
	return b, t.add(blobPath(b.digest), b.size, func(w io.Writer) error { return lp.rewrite(w, b, pool) })
}
