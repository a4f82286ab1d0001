// Package bench generates the inputs of bunix's benchmarks: a unikernel
// image (one large kernel and a hundred small files) and a raw root file
// system (thousands of small files). The data is deterministic and about as
// compressible as a real kernel, so that gzip and zstd have work to do, and
// it is generated much faster than /dev/urandom gives bytes.
package bench

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// Kernel writes dir/kernel, of size bytes, and dir/files/f000..f099, of
// up to 64 KiB each, unless they are there already with those sizes.
func Kernel(dir string, size int64) error {
	g := newGenerator(1)
	if err := g.write(filepath.Join(dir, "kernel"), size); err != nil {
		return err
	}
	for i := range 100 {
		if err := g.write(filepath.Join(dir, "files", fmt.Sprintf("f%03d", i)), g.r.Int64N(64<<10)); err != nil {
			return err
		}
	}
	return nil
}

// Rootfs writes n files of up to 16 KiB each under dir/rootfs, a hundred
// per directory, unless they are there already with those sizes.
func Rootfs(dir string, n int) error {
	g := newGenerator(2)
	for i := range n {
		p := filepath.Join(dir, "rootfs", fmt.Sprintf("d%03d", i/100), fmt.Sprintf("f%03d", i%100))
		if err := g.write(p, g.r.Int64N(16<<10)); err != nil {
			return err
		}
	}
	return nil
}

const block = 4 << 10

// generator makes the data. It comes in 4 KiB blocks: a third of them
// random, a third random nibbles (which Huffman coding halves) and a third
// near-copies of one of the last four blocks (which LZ77 finds).
type generator struct {
	r      *rand.Rand
	recent [4][block]byte
	n      int // blocks made
	w      *bufio.Writer
}

func newGenerator(seed uint64) *generator {
	return &generator{r: rand.New(rand.NewPCG(seed, seed)), w: bufio.NewWriterSize(nil, 1<<20)}
}

func (g *generator) next() []byte {
	b := &g.recent[g.n%len(g.recent)]
	switch kind := g.r.IntN(3); {
	case kind == 0 || g.n < len(g.recent):
		for j := 0; j < block; j += 8 {
			binary.LittleEndian.PutUint64(b[j:], g.r.Uint64())
		}
	case kind == 1:
		for j := 0; j < block; j += 8 {
			binary.LittleEndian.PutUint64(b[j:], g.r.Uint64()&0x0f0f0f0f0f0f0f0f|0x4040404040404040)
		}
	default:
		*b = g.recent[g.r.IntN(len(g.recent))]
		for range 8 {
			b[g.r.IntN(block)] = byte(g.r.Uint32())
		}
	}
	g.n++
	return b[:]
}

// write writes size bytes to path, unless path already has that size.
func (g *generator) write(path string, size int64) error {
	if fi, err := os.Stat(path); err == nil && fi.Size() == size {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	g.w.Reset(f)
	for left := size; left > 0; left -= block {
		if _, err := g.w.Write(g.next()[:min(block, left)]); err != nil {
			f.Close()
			return err
		}
	}
	if err := g.w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
