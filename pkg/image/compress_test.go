package image

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// compressible returns n bytes that compress to about half: random bytes,
// random nibbles and repeats, in 4 KiB blocks.
func compressible(n int) []byte {
	r := rand.New(rand.NewPCG(1, 1))
	out := make([]byte, 0, n)
	for len(out) < n {
		b := make([]byte, 4096)
		switch r.IntN(3) {
		case 0:
			for i := range b {
				b[i] = byte(r.Uint32())
			}
		case 1:
			for i := range b {
				b[i] = 'a' + byte(r.IntN(16))
			}
		default:
			if len(out) >= len(b) {
				copy(b, out[len(out)-len(b):])
			}
		}
		out = append(out, b...)
	}
	return out[:n]
}

// bigLayer is a layer large enough for several compression blocks of gzip
// (1 MiB) and zstd (128 KiB), with a file on disk and one in memory.
func bigLayer(t *testing.T) *layerPlan {
	t.Helper()
	data := compressible(5<<20 + 123)
	p := filepath.Join(t.TempDir(), "kernel")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	lp, err := planLayer(Layer{Entries: []Entry{
		fileEntry(t, p, "/kernel"),
		{Path: "/data", Type: Regular, Data: data[:3<<20]},
	}}, DefaultCreated)
	if err != nil {
		t.Fatal(err)
	}
	return lp
}

// TestCompressionIsDeterministic compresses one layer with 1, 2 and 7
// cores: the bytes must be the same, decompress to the layer tar, and hash
// to the digests reported.
func TestCompressionIsDeterministic(t *testing.T) {
	lp := bigLayer(t)
	var plain bytes.Buffer
	if _, err := lp.encode(&plain, Uncompressed, newChunkPool(context.Background())); err != nil {
		t.Fatal(err)
	}
	diffID := fmt.Sprintf("%x", sha256.Sum256(plain.Bytes()))
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, c := range []Compression{Gzip, Zstd} {
		var first []byte
		for _, procs := range []int{1, 2, 7} {
			runtime.GOMAXPROCS(procs)
			var out bytes.Buffer
			b, err := lp.encode(&out, c, newChunkPool(context.Background()))
			if err != nil {
				t.Fatal(err)
			}
			if b.diffID.Hex != diffID || b.digest.Hex != fmt.Sprintf("%x", sha256.Sum256(out.Bytes())) || b.size != int64(out.Len()) {
				t.Errorf("%s with %d cores: described as %+v", c, procs, b)
			}
			if first == nil {
				first = out.Bytes()
				if len(first) > plain.Len()*3/4 {
					t.Errorf("%s: %d bytes from %d: not compressed", c, len(first), plain.Len())
				}
				if got := decompress(t, c, first); !bytes.Equal(got, plain.Bytes()) {
					t.Errorf("%s: decompresses to %d bytes that are not the layer", c, len(got))
				}
				continue
			}
			if !bytes.Equal(out.Bytes(), first) {
				t.Errorf("%s with %d cores gives other bytes than with 1", c, procs)
			}
		}
	}
}

func decompress(t *testing.T, c Compression, data []byte) []byte {
	t.Helper()
	var r io.Reader
	switch c {
	case Gzip:
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if zr.Name != "" || zr.Comment != "" || !zr.ModTime.IsZero() || data[4]|data[5]|data[6]|data[7] != 0 {
			t.Errorf("gzip header has name %q, comment %q, mtime %v", zr.Name, zr.Comment, zr.ModTime)
		}
		r = zr
	case Zstd:
		zr, err := zstd.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		r = zr
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decompressing %s: %v", c, err)
	}
	return out
}
