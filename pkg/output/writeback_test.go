package output

import (
	"bytes"
	"io"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nubificus/bunix/internal/testenv"
)

// recordRanges replaces syncRange for the test with one that records the
// ranges asked, then does the real call.
func recordRanges(t *testing.T) (ranges func() [][2]int64) {
	var mu sync.Mutex
	var got [][2]int64
	real := syncRange
	syncRange = func(fd int, off, n int64, flags int) error {
		mu.Lock()
		got = append(got, [2]int64{off, n})
		mu.Unlock()
		return real(fd, off, n, flags)
	}
	t.Cleanup(func() { syncRange = real })
	return func() [][2]int64 {
		mu.Lock()
		defer mu.Unlock()
		return append([][2]int64(nil), got...)
	}
}

// TestWriteFileWritesBack: while the output is being written, the disk
// writes of what is written already start, in order and without gaps, so
// that the final sync has little left to wait for; the output is whole.
func TestWriteFileWritesBack(t *testing.T) {
	ranges := recordRanges(t)
	p := filepath.Join(t.TempDir(), "out")
	piece := bytes.Repeat([]byte("bunix"), writebackPiece/5+1)
	var want []byte
	err := WriteFile(p, func(w io.Writer) error {
		for range 3 {
			if _, err := w.Write(piece); err != nil {
				return err
			}
			want = append(want, piece...)
		}
		// Within the write: the writeback has started on what is there.
		deadline := time.Now().Add(10 * time.Second)
		for covered(ranges()) < 2*writebackPiece {
			if time.Now().After(deadline) {
				t.Errorf("after 10 s, writeback asked for %v, want the first %d bytes or more", ranges(), 2*writebackPiece)
				break
			}
			time.Sleep(writebackTick)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(testenv.ReadFile(t, p), want) {
		t.Error("the output holds other bytes")
	}
	var next int64
	for _, r := range ranges() {
		if r[0] != next {
			t.Errorf("ranges %v: a gap or overlap at %d", ranges(), next)
		}
		next = r[0] + r[1]
	}
}

// TestWriteFileWithoutSyncNoWriteback: WithoutSync asks for no writeback
// either; the output is as fast to write as the page cache allows.
func TestWriteFileWithoutSyncNoWriteback(t *testing.T) {
	ranges := recordRanges(t)
	p := filepath.Join(t.TempDir(), "out")
	err := WriteFileContext(t.Context(), p, func(w io.Writer) error {
		if _, err := w.Write(make([]byte, 2*writebackPiece)); err != nil {
			return err
		}
		time.Sleep(5 * writebackTick)
		return nil
	}, WithoutSync())
	if err != nil {
		t.Fatal(err)
	}
	if r := ranges(); len(r) != 0 {
		t.Errorf("writeback asked for %v without sync", r)
	}
}

// covered returns how many bytes from the start the ranges cover.
func covered(ranges [][2]int64) int64 {
	var n int64
	for _, r := range ranges {
		n = max(n, r[0]+r[1])
	}
	return n
}
