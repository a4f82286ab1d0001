package image

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"sync/atomic"
	"syscall"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/nubificus/bunix/internal/filekind"
)

const (
	// chunkSize is the size of the buffers a layer moves through. Small
	// files share a chunk, so that many of them take one write. 256 KiB
	// chunks stay in a core's cache between the read that fills one and
	// the write and hash that follow: the 1 GiB kernel of bench/run.sh
	// took 0.80 s here, against 0.90 s in 1 MiB and 512 KiB chunks and
	// 0.81 s in 128 KiB.
	chunkSize = 256 << 10
	// chunks is how many chunks a write uses: one being filled, the others
	// waiting to be written or hashed. Memory use is chunks × chunkSize.
	chunks = 16
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

// pipe moves the bytes of one layer tar to w in chunks, on three
// goroutines: the caller's reads the source files into a chunk (headers and
// padding in order), another writes each filled chunk to w, and a third
// computes the sha256 of each chunk written. A chunk goes back to be filled
// only once written and hashed, so the bytes hashed are the bytes written.
// The three share the cores: on two, a layer costs about the slower of the
// hashing and half of all the work, where reading and writing on one
// goroutine beside the hashing left a core idle whenever the hashing was
// the faster.
//
// A pipe can also compute a check sum of the bytes (maphash, ten times as
// fast as sha256), or only that: an oci-archive hashes each layer before
// writing it, and checks that it wrote the same bytes.
type pipe struct {
	w     io.Writer
	pool  chunkPool
	chunk []byte        // being filled
	out   chan []byte   // filled chunks, in order, for the writer
	wrote chan struct{} // closed once the writer has ended
	todo  chan []byte   // written chunks, in order, for the hasher; nil without sha256
	sum   chan v1.Hash  // the sha256, once todo is closed
	err   error         // why filling stopped: the context's cause, or werr at close
	// The writer's own, which others read only once wrote is closed; but
	// failed tells the filling goroutine to stop early.
	check  *maphash.Hash // nil without a check sum
	n      int64         // bytes written
	werr   error         // the first write error; nothing is written after it
	failed atomic.Bool   // werr is set
	// src opens the source files, keeping their root open between them.
	src filekind.Beneath
}

// checkSeed seeds the check sums, which are compared within one process.
var checkSeed = maphash.MakeSeed()

func newPipe(w io.Writer, pool chunkPool, sha, check bool) *pipe {
	p := &pipe{w: w, pool: pool, chunk: <-pool.free, out: make(chan []byte, chunks), wrote: make(chan struct{})}
	if check {
		p.check = &maphash.Hash{}
		p.check.SetSeed(checkSeed)
	}
	if sha {
		p.todo, p.sum = make(chan []byte, chunks), make(chan v1.Hash, 1)
		go func() {
			h := sha256.New()
			for c := range p.todo {
				h.Write(c)
				p.pool.free <- c[:0]
			}
			p.sum <- v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", h.Sum(nil))}
		}()
	}
	go p.write()
	return p
}

// write writes the filled chunks to w, in order, and hands each to the
// hasher. After a write error, or once the context is done, it writes
// nothing more, but still takes the chunks, so that the filling goroutine
// never waits for one in vain.
func (p *pipe) write() {
	defer close(p.wrote)
	for c := range p.out {
		if p.werr == nil {
			// A write stops as soon as its context is done, not after
			// the chunks already filled.
			p.werr = context.Cause(p.pool.ctx)
		}
		if p.werr == nil {
			var n int
			n, p.werr = p.w.Write(c)
			p.n += int64(n)
			if p.check != nil {
				p.check.Write(c)
			}
		}
		if p.werr != nil {
			p.failed.Store(true)
		}
		if p.todo != nil {
			p.todo <- c
		} else {
			p.pool.free <- c[:0]
		}
	}
	if p.todo != nil {
		close(p.todo)
	}
}

// ok reports whether the pipe still takes bytes: neither its context nor a
// write has stopped it.
func (p *pipe) ok() bool {
	return p.err == nil && !p.failed.Load()
}

// Write copies b into the pipe. It never fails: a write error is kept for
// close.
func (p *pipe) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 && p.ok() {
		if len(p.chunk) == cap(p.chunk) {
			p.flush()
		}
		m := copy(p.chunk[len(p.chunk):cap(p.chunk)], b)
		p.chunk = p.chunk[:len(p.chunk)+m]
		b = b[m:]
	}
	return n, nil
}

// flush hands the chunk being filled to the writer and takes a free one.
// It is where a write stops once its context is done: between two chunks.
func (p *pipe) flush() {
	if len(p.chunk) == 0 || !p.ok() {
		return
	}
	if p.err = context.Cause(p.pool.ctx); p.err != nil {
		return
	}
	p.out <- p.chunk
	p.chunk = <-p.pool.free
}

// close writes what is left and returns the sha256 and the check sum of
// every byte written, when the pipe computes them, and the first error. It
// must be called once, whatever happened; once it returns, every chunk is
// back in the pool.
func (p *pipe) close() (sha v1.Hash, check uint64, err error) {
	p.src.Close()
	p.flush()
	p.pool.free <- p.chunk[:0]
	p.chunk = nil
	close(p.out)
	<-p.wrote
	if p.todo != nil {
		sha = <-p.sum
	}
	if p.check != nil {
		check = p.check.Sum64()
	}
	if p.err == nil {
		p.err = p.werr
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
	for left > 0 && p.ok() {
		if len(p.chunk) == cap(p.chunk) {
			if p.flush(); !p.ok() {
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
	if atEOF || !p.ok() {
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
