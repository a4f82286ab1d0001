// Package ctxio copies bytes in pieces, so that a cancelled context stops
// a long copy between two pieces: the one way bunix's streams (layers,
// base blobs, pulled blobs, hashed layers) honour cancellation.
package ctxio

import (
	"context"
	"io"
)

// Piece is how many bytes a copy moves between two looks at its context.
const Piece = 1 << 20

// Copy copies r to w until r ends, as io.Copy does, and returns how many
// bytes it copied. Before each piece it looks at ctx: once ctx is done it
// stops with context.Cause(ctx).
func Copy(ctx context.Context, w io.Writer, r io.Reader) (int64, error) {
	var done int64
	for {
		if err := context.Cause(ctx); err != nil {
			return done, err
		}
		m, err := io.CopyN(w, r, Piece)
		done += m
		if err == io.EOF {
			return done, nil
		}
		if err != nil {
			return done, err
		}
	}
}

// CopyN copies n bytes of r to w, as io.CopyN does (io.EOF when r ends
// first), looking at ctx before each piece as Copy does.
func CopyN(ctx context.Context, w io.Writer, r io.Reader, n int64) (int64, error) {
	var done int64
	for done < n {
		if err := context.Cause(ctx); err != nil {
			return done, err
		}
		m, err := io.CopyN(w, r, min(n-done, Piece))
		done += m
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// Reader returns r, whose reads fail with context.Cause(ctx) once ctx is
// done: for a reader that others drain (a tar reader, a decompressor).
func Reader(ctx context.Context, r io.Reader) io.Reader {
	if ctx.Done() == nil {
		return r
	}
	return &reader{ctx: ctx, r: r}
}

type reader struct {
	ctx context.Context
	r   io.Reader
}

func (r *reader) Read(p []byte) (int, error) {
	if err := context.Cause(r.ctx); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}
