package image

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

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

// addFile writes the file name holding the first size bytes of f, a
// spooled or prebuilt layer. When the archive is an *os.File (a file, or a
// pipe such as standard output), the kernel copies the bytes (kernelCopy:
// copy_file_range, or sendfile) without them passing through memory here.
// When want is set, the bytes are hashed as they are copied (hashedCopy,
// on another core; through memory, on the way, otherwise), with buf, a
// chunk of pool, and must hash to want. Either way f must not change while
// it is copied (its fileID before and after).
func (t *tarWriter) addFile(name string, f *os.File, size int64, want v1.Hash, pool chunkPool) error {
	return t.add(name, size, func(w io.Writer) error {
		err := t.copyFile(w.(*countingWriter), f, size, want, pool)
		if err != nil && context.Cause(t.ctx) == nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
		return err
	})
}

func (t *tarWriter) copyFile(cw *countingWriter, f *os.File, size int64, want v1.Hash, pool chunkPool) error {
	before, err := identify(f)
	if err != nil {
		return err
	}
	var got v1.Hash
	switch {
	case t.file != nil && want.Hex != "":
		if err := t.w.Flush(); err != nil {
			return err
		}
		buf := <-pool.free
		var n int64
		n, got, err = hashedCopy(t.ctx, t.file, f, size, buf)
		pool.free <- buf[:0]
		cw.n += n
	case t.file != nil:
		if err := t.w.Flush(); err != nil {
			return err
		}
		var n int64
		n, err = kernelCopy(t.ctx, t.file, f, 0, size)
		cw.n += n
	default:
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		h := sha256.New()
		r := io.Reader(f)
		if want.Hex != "" {
			r = io.TeeReader(f, h)
		}
		_, err = ctxio.CopyN(t.ctx, cw, r, size)
		got = v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
	}
	if err != nil {
		return err
	}
	after, err := identify(f)
	if err != nil {
		return err
	}
	if after != before {
		return fmt.Errorf("the file changed while it was copied (it held %d bytes, then %d)", before.size, after.size)
	}
	if want.Hex != "" && got != want {
		return fmt.Errorf("its %d bytes hash to %s, not to the %s its description says", size, got, want)
	}
	return nil
}

// copyPiece is how much of a spooled or prebuilt layer kernelCopy asks
// the kernel to copy at once, between two checks of the context: a
// fraction of a second's work.
const copyPiece = 64 << 20

// addLayerInPlace writes a layer into the archive in one pass where the
// archive is a regular file, as name, or, when name is "", named by its
// digest (an OCI archive), which the tar header needs before the bytes. It
// writes the entry's header with a placeholder of the same length (the
// name all zeros, or the size 0 where the layer is compressed and its size
// not known yet), streams the layer behind it (read once, hashed on the
// way on another core), then writes the real header over the placeholder
// (pwrite). A layer the archive holds already is cut off again. It reports
// false, having written nothing, where the archive is not a regular file,
// or where a compressed layer could come out too big for the placeholder.
func (t *tarWriter) addLayerInPlace(lp *layerPlan, name string, c Compression, pool chunkPool) (blob, bool, error) {
	if t.file == nil || (c != Uncompressed && lp.size > inPlaceLimit) {
		return blob{}, false, nil
	}
	if fi, err := t.file.Stat(); err != nil || !fi.Mode().IsRegular() || appending(t.file) {
		return blob{}, false, nil
	}
	headerOf := func(b blob) (string, []byte, error) {
		n := name
		if n == "" {
			n = blobPath(b.digest)
		}
		h, err := encodeHeader(header(Entry{Path: "/" + n, Type: Regular, Size: b.size}, t.mtime))
		return n, h, err
	}
	planned := blob{digest: v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("0", 64)}}
	if c == Uncompressed {
		planned.size = lp.size
	}
	_, placeholder, err := headerOf(planned)
	if err != nil {
		return blob{}, true, err
	}
	if err := t.w.Flush(); err != nil {
		return blob{}, true, fmt.Errorf("writing a layer: %w", err)
	}
	start, err := t.file.Seek(0, io.SeekCurrent)
	if err != nil {
		return blob{}, false, nil
	}
	if _, err := t.w.Write(placeholder); err != nil {
		return blob{}, true, fmt.Errorf("writing a layer: %w", err)
	}
	cw := &countingWriter{w: t.w}
	b, err := lp.encode(cw, c, pool)
	if err != nil {
		return blob{}, true, err
	}
	// An uncompressed layer must be as long as planned; a compressed one,
	// as long as the compressor said.
	want := b.size
	if c == Uncompressed {
		want = lp.size
	}
	if cw.n != want {
		return blob{}, true, fmt.Errorf("writing a layer: %d bytes were written for a %d-byte layer", cw.n, want)
	}
	if _, err := t.w.Write(zeros[:padding(b.size)]); err != nil {
		return blob{}, true, fmt.Errorf("writing %s: %w", blobPath(b.digest), err)
	}
	if err := t.w.Flush(); err != nil {
		return blob{}, true, fmt.Errorf("writing %s: %w", blobPath(b.digest), err)
	}
	written, h, err := headerOf(b)
	if t.names[written] {
		// Another image of the archive has the same layer: one copy.
		if err := t.file.Truncate(start); err != nil {
			return blob{}, true, fmt.Errorf("cutting off a second copy of %s: %w", written, err)
		}
		if _, err := t.file.Seek(start, io.SeekStart); err != nil {
			return blob{}, true, fmt.Errorf("cutting off a second copy of %s: %w", written, err)
		}
		return b, true, nil
	}
	if err == nil && len(h) != len(placeholder) {
		err = fmt.Errorf("its header is %d bytes, not the %d written", len(h), len(placeholder))
	}
	if err == nil {
		_, err = t.file.WriteAt(h, start)
	}
	if err != nil {
		return blob{}, true, fmt.Errorf("naming %s: %w", written, err)
	}
	t.names[written] = true
	return b, true, nil
}

// appending reports whether f was opened with O_APPEND (standard output
// under a shell's >>), where os.File refuses WriteAt and pwrite would write
// at the end of the file whatever the offset asked, or whether that cannot
// be told.
func appending(f *os.File) bool {
	c, err := f.SyscallConn()
	if err != nil {
		return true
	}
	var flags int
	if err := c.Control(func(fd uintptr) { flags, err = unix.FcntlInt(fd, unix.F_GETFL, 0) }); err != nil {
		return true
	}
	return err != nil || flags&unix.O_APPEND != 0
}

// inPlaceLimit is the largest uncompressed layer that addLayerInPlace
// writes compressed. A compressor's output is at most a little longer than
// its input (stored blocks: gzip adds 5 bytes to 64 KiB, zstd 3 to
// 128 KiB), so that the layer's size is sure to fit the placeholder's
// plain header, which holds sizes under 8 GiB. A test lowers it.
var inPlaceLimit int64 = 7 << 30

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
		// Written apart: copied as it is, with the digests it comes with,
		// which the copy checks on the way.
		f, err := openLayerBlob(lp.blob)
		if err != nil {
			return blob{}, err
		}
		defer f.Close()
		if name == "" {
			name = blobPath(lp.blob.Digest)
		}
		return lp.blob.blob(), t.addFile(name, f, lp.blob.Size, lp.blob.Digest, pool)
	}
	if o.compression != Uncompressed {
		if b, ok, err := t.addLayerInPlace(lp, name, o.compression, pool); ok {
			return b, err
		}
		// Written apart, where the archive is not a regular file: the
		// size and, for an OCI archive, the digest come before the bytes.
		f, b, err := lp.spool(o.tempDir, o.compression, pool)
		if err != nil {
			return blob{}, err
		}
		defer f.Close()
		if name == "" {
			name = blobPath(b.digest)
		}
		return b, t.addFile(name, f.File, b.size, v1.Hash{}, pool)
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
	if b, ok, err := t.addLayerInPlace(lp, "", Uncompressed, pool); ok {
		return b, err
	}
	// Where the archive is not a regular file, reading the sources twice (the second time from the page cache) costs
	// less than writing the layer twice through a temporary file: hash the
	// layer, then write it, checking with a much cheaper sum that no source
	// changed in between.
	b, err := lp.hash(pool)
	if err != nil {
		return blob{}, err
	}
	return b, t.add(blobPath(b.digest), b.size, func(w io.Writer) error { return lp.rewrite(w, b, pool) })
}
