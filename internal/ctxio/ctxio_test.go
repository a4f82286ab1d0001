package ctxio

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

// TestCopy copies readers of 0, 1, a piece and a piece and a half bytes
// whole; CopyN copies a prefix, and reports io.EOF when r is shorter.
func TestCopy(t *testing.T) {
	for _, n := range []int{0, 1, Piece, Piece + Piece/2} {
		src := strings.Repeat("x", n)
		var b bytes.Buffer
		m, err := Copy(context.Background(), &b, strings.NewReader(src))
		if err != nil || m != int64(n) || b.String() != src {
			t.Errorf("Copy of %d bytes = %d, %v; copied %d", n, m, err, b.Len())
		}
		b.Reset()
		m, err = CopyN(context.Background(), &b, strings.NewReader(src), int64(n/2))
		if err != nil || m != int64(n/2) || b.String() != src[:n/2] {
			t.Errorf("CopyN of %d of %d bytes = %d, %v", n/2, n, m, err)
		}
		b.Reset()
		if m, err = CopyN(context.Background(), &b, strings.NewReader(src), int64(n+1)); err != io.EOF || m != int64(n) {
			t.Errorf("CopyN of %d of %d bytes = %d, %v; want %d, io.EOF", n+1, n, m, err, n)
		}
	}
}

// cancelAfter cancels its context once it has been written more than n
// bytes.
type cancelAfter struct {
	n      int
	cancel context.CancelCauseFunc
	got    int
}

func (c *cancelAfter) Write(p []byte) (int, error) {
	c.got += len(p)
	if c.got > c.n {
		c.cancel(errStop)
	}
	return len(p), nil
}

var errStop = errors.New("stop")

// TestCopyStops cancels the context during the first piece: the copy ends
// after that piece with the cause, not at the end of the reader.
func TestCopyStops(t *testing.T) {
	for name, copy := range map[string]func(context.Context, io.Writer, io.Reader) (int64, error){
		"Copy":  Copy,
		"CopyN": func(ctx context.Context, w io.Writer, r io.Reader) (int64, error) { return CopyN(ctx, w, r, 10*Piece) },
	} {
		ctx, cancel := context.WithCancelCause(context.Background())
		w := &cancelAfter{n: 10, cancel: cancel}
		m, err := copy(ctx, w, bytes.NewReader(make([]byte, 10*Piece)))
		if !errors.Is(err, errStop) || m != Piece {
			t.Errorf("%s cancelled in the first piece = %d, %v; want %d, the cause", name, m, err, Piece)
		}
	}
}

// TestReader: a Reader reads through until its context is done, then
// fails with the cause.
func TestReader(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	r := Reader(ctx, strings.NewReader("abcdef"))
	p := make([]byte, 3)
	if n, err := r.Read(p); n != 3 || err != nil {
		t.Fatalf("Read = %d, %v", n, err)
	}
	cancel(errStop)
	if n, err := r.Read(p); n != 0 || !errors.Is(err, errStop) {
		t.Errorf("Read after cancel = %d, %v; want 0 and the cause", n, err)
	}
}
