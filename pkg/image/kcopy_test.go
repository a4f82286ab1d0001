package image

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
)

// TestKernelCopy copies the middle of a file to a file after a prefix,
// and to a pipe: the bytes arrive whole and in place.
func TestKernelCopy(t *testing.T) {
	data := make([]byte, 3<<20+17)
	rand.Read(data)
	dir := t.TempDir()
	src, err := os.Create(filepath.Join(dir, "src"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	src.Write(data)
	const off = 1000
	want := data[off : len(data)-5]

	dst, err := os.Create(filepath.Join(dir, "dst"))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	dst.Write([]byte("prefix"))
	if n, err := kernelCopy(context.Background(), dst, src, off, int64(len(want))); err != nil || n != int64(len(want)) {
		t.Fatalf("to a file: %d, %v", n, err)
	}
	if got := testenv.ReadFile(t, dst.Name()); !bytes.Equal(got, append([]byte("prefix"), want...)) {
		t.Error("the file holds other bytes")
	}

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte)
	go func() { b, _ := io.ReadAll(r); got <- b }()
	n, err := kernelCopy(context.Background(), w, src, off, int64(len(want)))
	w.Close()
	if err != nil || n != int64(len(want)) {
		t.Fatalf("to a pipe: %d, %v", n, err)
	}
	if !bytes.Equal(<-got, want) {
		t.Error("the pipe carried other bytes")
	}
}

// TestKernelCopyCancelled: a done context stops the copy with its cause.
func TestKernelCopyCancelled(t *testing.T) {
	src, err := os.Create(filepath.Join(t.TempDir(), "src"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	src.Write(make([]byte, 1<<20))
	dst, err := os.Create(filepath.Join(t.TempDir(), "dst"))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	stop := errors.New("stop")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(stop)
	if _, err := kernelCopy(ctx, dst, src, 0, 1<<20); !errors.Is(err, stop) {
		t.Errorf("got %v, want %v", err, stop)
	}
}
