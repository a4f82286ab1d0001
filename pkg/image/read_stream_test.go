package image

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"
)

// TestOpenReaderLimit: a stream longer than the limit is a
// *SpoolLimitError naming it, and leaves nothing in the directory.
func TestOpenReaderLimit(t *testing.T) {
	dir := t.TempDir()
	_, err := OpenReader(context.Background(), bytes.NewReader(make([]byte, 2<<20)), dir, "on standard input", 1<<20)
	var sl *SpoolLimitError
	if !errors.As(err, &sl) || sl.Limit != 1<<20 || err.Error() != "opening image on standard input: it is longer than 1048576 bytes, the most bunix copies of a stream" {
		t.Errorf("OpenReader of 2 MiB with a 1 MiB limit = %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left %v", ents)
	}
}

// TestOpenReaderCancel: a cancelled context stops OpenReader with its
// cause while a read of the stream blocks (a pipe nobody writes to).
func TestOpenReaderCancel(t *testing.T) {
	r, w := io.Pipe()
	defer w.Close()
	ctx, cancel := context.WithCancelCause(context.Background())
	stop := errors.New("stopped by the test")
	time.AfterFunc(50*time.Millisecond, func() { cancel(stop) })
	dir := t.TempDir()
	done := make(chan error, 1)
	go func() {
		_, err := OpenReader(ctx, r, dir, "on standard input", 0)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, stop) {
			t.Errorf("OpenReader = %v, want the context's cause", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("OpenReader did not stop")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left %v", ents)
	}
}
