package image

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

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

// TestHashedCopy copies a file in many pieces of the hasher's buffer: the
// copy holds the file's bytes, and the sum is theirs.
func TestHashedCopy(t *testing.T) {
	data := make([]byte, 3<<20+17)
	rand.Read(data)
	dir := t.TempDir()
	src := tempWith(t, dir, data)
	dst, err := os.Create(filepath.Join(dir, "dst"))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	n, sum, err := hashedCopy(context.Background(), dst, src, int64(len(data)), make([]byte, 0, 64<<10))
	if err != nil || n != int64(len(data)) {
		t.Fatalf("%d, %v", n, err)
	}
	if want := fmt.Sprintf("%x", sha256.Sum256(data)); sum.Hex != want {
		t.Errorf("sum %s, want %s", sum.Hex, want)
	}
	if !bytes.Equal(testenv.ReadFile(t, dst.Name()), data) {
		t.Error("the copy holds other bytes")
	}
}

// TestHashedCopyShort: a file shorter than the copy asks is an error, not
// a sum of fewer bytes.
func TestHashedCopyShort(t *testing.T) {
	dir := t.TempDir()
	src := tempWith(t, dir, make([]byte, 1000))
	dst, err := os.Create(filepath.Join(dir, "dst"))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if _, sum, err := hashedCopy(context.Background(), dst, src, 2000, make([]byte, 0, 4096)); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("got %v (sum %v), want io.ErrUnexpectedEOF", err, sum)
	}
}

// TestHashedCopyCancelled: a done context stops the copy and the hash,
// with its cause, and no goroutine is left behind.
func TestHashedCopyCancelled(t *testing.T) {
	dir := t.TempDir()
	src := tempWith(t, dir, make([]byte, 1<<20))
	dst, err := os.Create(filepath.Join(dir, "dst"))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	stop := errors.New("stop")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(stop)
	before := runtime.NumGoroutine()
	if _, _, err := hashedCopy(ctx, dst, src, 1<<20, make([]byte, 0, 4096)); !errors.Is(err, stop) {
		t.Errorf("got %v, want %v", err, stop)
	}
	if fi, _ := dst.Stat(); fi.Size() != 0 {
		t.Errorf("%d bytes were copied after the context was done", fi.Size())
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("%d goroutines, %d before", after, before)
	}
}

// TestHashedCopyMemory: copying and hashing 256 MiB allocates no memory
// that grows with the size: the hasher reads through the buffer it is
// given.
func TestHashedCopyMemory(t *testing.T) {
	dir := t.TempDir()
	src, err := os.Create(filepath.Join(dir, "src"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	const size = 256 << 20
	if err := src.Truncate(size); err != nil { // sparse: cheap to read
		t.Fatal(err)
	}
	dst, err := os.Create(filepath.Join(dir, "dst"))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	buf := make([]byte, 0, 1<<20)
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	if _, _, err := hashedCopy(context.Background(), dst, src, size, buf); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&m1)
	if grew := m1.TotalAlloc - m0.TotalAlloc; grew > 256<<10 {
		t.Errorf("allocated %d bytes to copy and hash %d", grew, size)
	}
}

// TestIdentifyWrite: a write that keeps a file's size changes its fileID,
// which is how a copy sees that its source changed under it.
func TestIdentifyWrite(t *testing.T) {
	f := tempWith(t, t.TempDir(), []byte("same size"))
	before, err := identify(f)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if _, err := f.WriteAt([]byte("SAME"), 0); err != nil {
		t.Fatal(err)
	}
	after, err := identify(f)
	if err != nil {
		t.Fatal(err)
	}
	if after == before {
		t.Error("the fileID did not change")
	}
}

// tempWith returns a new file in dir holding data, open for reading and
// writing; the test closes it.
func tempWith(t *testing.T, dir string, data []byte) *os.File {
	t.Helper()
	f, err := os.CreateTemp(dir, "src-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	return f
}
