package image

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"syscall"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/nubificus/bunix/internal/filekind"
)

const (
	// chunkSize is the size of the buffers a layer moves through. Small
	// files share a chunk, so that many of them take one write.
	chunkSize = 1 << 20
	// chunks is how many chunks a write uses: one being filled, the others
	// waiting to be hashed. Memory use is chunks × chunkSize.
	chunks = 4
)

// chunkPool holds the chunks of one write, which its pipes use in turn,
// and the write's context, which they check between chunks.
type chunkPool struct {
	free chan []byte
	ctx  context.Context
}

func newChunkPool(ctx context.Context) chunkPool {
	p := chunkPool{free: make(chan []byte, chunks), ctx: ctx}
	for range chunks {
		p.free <- make([]byte, 0, chunkSize)
	}
	return p
}

// pipe moves the bytes of one layer tar to w in chunks and computes their
// sha256 on another goroutine: while the hasher works on one chunk, the
// writing goroutine reads the next one from the source files and writes it.
// On two cores, hashing costs no wall time as long as it is faster than the
// disk.
//
// A pipe can also compute a check sum of the bytes (maphash, ten times as
// fast as sha256), or only that: an oci-archive hashes each layer before
// writing it, and checks that it wrote the same bytes.
type pipe struct {
	w     io.Writer
	pool  chunkPool
	chunk []byte        // being filled
	todo  chan []byte   // written chunks, in order, for the hasher; nil without sha256
	sum   chan v1.Hash  // the sha256, once todo is closed
	check *maphash.Hash // nil without a check sum
	n     int64         // bytes written
	err   error         // the first write error; nothing is written after it
	// src opens the source files, keeping their root open between them.
	src filekind.Beneath
}

// checkSeed seeds the check sums, which are compared within one process.
var checkSeed = maphash.MakeSeed()

func newPipe(w io.Writer, pool chunkPool, sha, check bool) *pipe {
	p := &pipe{w: w, pool: pool, chunk: <-pool.free}
	if check {
		p.check = &maphash.Hash{}
		p.check.SetSeed(checkSeed)
	}
	if !sha {
		return p
	}
	p.todo, p.sum = make(chan []byte, chunks), make(chan v1.Hash, 1)
	go func() {
		h := sha256.New()
		for c := range p.todo {
			h.Write(c)
			p.pool.free <- c[:0]
		}
		p.sum <- v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", h.Sum(nil))}
	}()
	return p
}

// Write copies b into the pipe. It never fails: a write error is kept for
// close.
func (p *pipe) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 && p.err == nil {
		if len(p.chunk) == cap(p.chunk) {
			p.flush()
		}
		m := copy(p.chunk[len(p.chunk):cap(p.chunk)], b)
		p.chunk = p.chunk[:len(p.chunk)+m]
		b = b[m:]
	}
	return n, nil
}

// flush writes the chunk being filled and hands it to the hasher. It is
// where a write stops once its context is done: between two chunks.
func (p *pipe) flush() {
	if len(p.chunk) == 0 || p.err != nil {
		return
	}
	if p.err = context.Cause(p.pool.ctx); p.err != nil {
		return
	}
	var n int
	n, p.err = p.w.Write(p.chunk)
	p.n += int64(n)
	if p.check != nil {
		p.check.Write(p.chunk)
	}
	if p.todo == nil {
		p.chunk = p.chunk[:0]
		return
	}
	p.todo <- p.chunk
	p.chunk = <-p.pool.free
}

// close writes what is left and returns the sha256 and the check sum of
// every byte written, when the pipe computes them, and the first write
// error. It must be called once, whatever happened.
func (p *pipe) close() (sha v1.Hash, check uint64, err error) {
	p.src.Close()
	p.flush()
	p.pool.free <- p.chunk[:0]
	p.chunk = nil
	if p.todo != nil {
		close(p.todo)
		sha = <-p.sum
	}
	if p.check != nil {
		check = p.check.Sum64()
	}
	return sha, check, p.err
}

// copyFile reads e.Size bytes of e.Source straight into the pipe's chunks.
// It fails if the file is not exactly that long, or not the file planned
// (Entry.Open). It uses the system calls directly: for a small file, open,
// one read and close are all it costs. The open does not block: should a
// FIFO have taken the file's place, it is refused rather than waited on.
func (p *pipe) copyFile(e Entry) error {
	fd, err := p.src.Open(e.Root, e.Source, e.ID)
	if err != nil {
		var ce *filekind.ChangedError
		if errors.As(err, &ce) {
			return fmt.Errorf("copying %s: %w", e.Path, err)
		}
		return fmt.Errorf("reading %s for %s: %w", e.Source, e.Path, unwrapPath(err))
	}
	defer syscall.Close(fd)
	left, atEOF := e.Size, false
	for left > 0 && p.err == nil {
		if len(p.chunk) == cap(p.chunk) {
			if p.flush(); p.err != nil {
				break
			}
		}
		free := p.chunk[len(p.chunk):cap(p.chunk)]
		ask := len(free)
		if int64(ask) > left {
			// One byte more than is left: a short read then shows the end
			// of the file without another call.
			ask = int(left) + 1
		}
		n, err := retry(func() (int, error) { return syscall.Read(fd, free[:ask]) })
		if err != nil {
			return fmt.Errorf("reading %s for %s: %w", e.Source, e.Path, err)
		}
		if n == 0 {
			return fmt.Errorf("copying %s to %s: the file shrank from %d to %d bytes while the image was written", e.Source, e.Path, e.Size, e.Size-left)
		}
		if int64(n) > left {
			return errGrew(e)
		}
		atEOF = int64(ask) > left && int64(n) == left
		p.chunk = p.chunk[:len(p.chunk)+n]
		left -= int64(n)
	}
	if atEOF || p.err != nil {
		return nil
	}
	var one [1]byte
	n, err := retry(func() (int, error) { return syscall.Read(fd, one[:]) })
	if err != nil {
		return fmt.Errorf("reading %s for %s: %w", e.Source, e.Path, err)
	}
	if n > 0 {
		return errGrew(e)
	}
	return nil
}

func errGrew(e Entry) error {
	return fmt.Errorf("copying %s to %s: the file grew past %d bytes while the image was written", e.Source, e.Path, e.Size)
}

// retry calls f again while it is interrupted by a signal.
func retry(f func() (int, error)) (int, error) {
	for {
		n, err := f()
		if !errors.Is(err, syscall.EINTR) {
			return n, err
		}
	}
}
