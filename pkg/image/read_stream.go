package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/nubificus/bunix/internal/ctxio"
	"github.com/nubificus/bunix/pkg/output"
)

// DefaultSpoolLimit is how many bytes OpenReader copies from a stream when
// its caller sets no limit: 8 GiB.
const DefaultSpoolLimit = 8 << 30

// SpoolLimitError is a stream longer than the limit OpenReader was given.
type SpoolLimitError struct {
	// Name says where the stream comes from.
	Name  string
	Limit int64
}

func (e *SpoolLimitError) Error() string {
	return fmt.Sprintf("opening image %s: it is longer than %d bytes, the most bunix copies of a stream", e.Name, e.Limit)
}

// errSpoolLimit is spool's error for a stream longer than its limit.
var errSpoolLimit = errors.New("over the limit")

// OpenReader opens the image archive (an oci-archive or a docker-archive)
// that r streams, such as standard input. The readers need random access,
// so r is first copied whole into an output.TempFile in dir (os.TempDir() when dir
// is ""), at most limit bytes (DefaultSpoolLimit when limit is not
// positive): a longer stream is a *SpoolLimitError. The copy
// stops with context.Cause(ctx) once ctx is done, even while r has
// nothing to read. Closing the File, or a failure, releases the
// TempFile, and nothing is left behind. name says where r comes from, in
// errors.
func OpenReader(ctx context.Context, r io.Reader, dir, name string, limit int64) (*File, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	if limit <= 0 {
		limit = DefaultSpoolLimit
	}
	tmp, err := output.CreateTemp(dir, ".bunix-spool-*")
	if err != nil {
		return nil, fmt.Errorf("opening image %s: spooling it: %w", name, err)
	}
	size, err := spool(ctx, tmp, r, limit)
	if err != nil {
		tmp.Close()
		if errors.Is(err, errSpoolLimit) {
			return nil, &SpoolLimitError{Name: name, Limit: limit}
		}
		return nil, fmt.Errorf("opening image %s: spooling it to %s: %w", name, dir, err)
	}
	f, err := openArchive(tmp, size, tmp)
	if err != nil {
		return nil, fmt.Errorf("opening image %s: %w", name, err)
	}
	return f, nil
}

// spool copies r to w, at most limit bytes, in a goroutine so that a
// done ctx stops it even while a read of r blocks; the goroutine then
// ends with that read (or with the process).
func spool(ctx context.Context, w io.Writer, r io.Reader, limit int64) (int64, error) {
	type result struct {
		n   int64
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := ctxio.Copy(ctx, w, io.LimitReader(r, limit+1))
		done <- result{n, err}
	}()
	select {
	case <-ctx.Done():
		return 0, context.Cause(ctx)
	case res := <-done:
		if res.err == nil && res.n > limit {
			res.err = errSpoolLimit
		}
		return res.n, res.err
	}
}
