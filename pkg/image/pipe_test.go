package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nubificus/bunix/internal/filekind"
	"github.com/nubificus/bunix/internal/testenv"
)

// TestLayerMatchesArchiveTar streams layers whose files end on, just before
// and just after chunk boundaries, from disk and from memory, and compares
// the bytes with what archive/tar writes for the same headers.
func TestLayerMatchesArchiveTar(t *testing.T) {
	dir := t.TempDir()
	sizes := []int{0, 1, 511, 512, 513, chunkSize - 513, chunkSize - 512, chunkSize - 1, chunkSize, chunkSize + 1, 3*chunkSize + 7, 1000}
	var entries []Entry
	for i, n := range sizes {
		data := bytes.Repeat([]byte{byte('a' + i)}, n)
		p := filepath.Join(dir, fmt.Sprint(i))
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		entries = append(entries,
			fileEntry(t, p, fmt.Sprintf("/disk/%02d", i)),
			Entry{Path: fmt.Sprintf("/mem/%02d", i), Type: Regular, Data: data})
	}
	entries = append(entries, Entry{Path: "/link", Type: Symlink, Linkname: "disk/00"},
		Entry{Path: "/" + strings.Repeat("long/", 40) + "name", Type: Regular, Data: []byte("x")})
	lp, err := planLayer(Layer{Entries: entries}, DefaultCreated)
	if err != nil {
		t.Fatal(err)
	}

	var want bytes.Buffer
	tw := tar.NewWriter(&want)
	for _, e := range lp.entries {
		if err := tw.WriteHeader(header(e, DefaultCreated)); err != nil {
			t.Fatal(err)
		}
		if e.Type != Regular {
			continue
		}
		data := e.Data
		if e.Source != "" {
			data, _ = os.ReadFile(e.Source)
		}
		tw.Write(data)
	}
	tw.Close()

	var got bytes.Buffer
	b, err := lp.encode(&got, Uncompressed, newChunkPool(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Fatalf("the layer differs from archive/tar's (%d and %d bytes)", got.Len(), want.Len())
	}
	if b.size != lp.size || b.size != int64(got.Len()) {
		t.Errorf("planned %d bytes, wrote %d, reported %d", lp.size, got.Len(), b.size)
	}
	if sum := fmt.Sprintf("%x", sha256.Sum256(got.Bytes())); b.diffID.Hex != sum || b.digest != b.diffID {
		t.Errorf("hashes %v, want %s", b, sum)
	}
}

// TestWriteErrorStopsTheLayer checks that a failing destination is
// reported, and that the pipe stops reading sources after it.
func TestWriteErrorStopsTheLayer(t *testing.T) {
	dir := tree(t, [][2]string{{"big", strings.Repeat("x", 3*chunkSize)}})
	lp, err := planLayer(Layer{Entries: []Entry{fileEntry(t, filepath.Join(dir, "big"), "/big")}}, DefaultCreated)
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk full")
	w := &failingWriter{after: chunkSize, err: boom}
	if _, err := lp.encode(w, Uncompressed, newChunkPool(context.Background())); !errors.Is(err, boom) {
		t.Fatalf("got %v, want %v", err, boom)
	}
	if w.calls != 2 {
		t.Errorf("%d writes, want 2: the pipe went on after the error", w.calls)
	}
}

// TestCancelStopsTheWriter checks that the writing goroutine writes
// nothing once the write's context is done, not even the chunks filled
// before: four chunks wait while the first write cancels.
func TestCancelStopsTheWriter(t *testing.T) {
	stop := errors.New("stop")
	ctx, cancel := context.WithCancelCause(context.Background())
	w := &cancellingWriter{cancel: func() { cancel(stop) }, wait: make(chan struct{})}
	p := newPipe(w, newChunkPool(ctx), true, false)
	p.Write(make([]byte, 5*chunkSize)) // four chunks handed over, a fifth filled
	close(w.wait)
	if _, _, err := p.close(); !errors.Is(err, stop) {
		t.Fatalf("got %v, want %v", err, stop)
	}
	if w.calls != 1 {
		t.Errorf("%d writes, want 1: the writer went on after the context was done", w.calls)
	}
}

// TestStoppedPipeOpensNothing checks that a layer whose pipe has stopped
// opens no more sources. big is more chunks than the pool holds, so that
// the filling goroutine takes a chunk back from after the cancel, and
// sees it, before big is read to its end.
func TestStoppedPipeOpensNothing(t *testing.T) {
	dir := tree(t, [][2]string{{"big", strings.Repeat("x", 3*chunks*chunkSize)}, {"next", "y"}})
	lp, err := planLayer(Layer{Entries: []Entry{
		fileEntry(t, filepath.Join(dir, "big"), "/big"),
		fileEntry(t, filepath.Join(dir, "next"), "/next"),
	}}, DefaultCreated)
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	ctx, cancel := context.WithCancelCause(context.Background())
	w := &cancellingWriter{cancel: func() { cancel(stop) }}
	opened := 0
	defer filekind.SetBeforeOpen(func(string) { opened++ })()
	if _, err := lp.encode(w, Uncompressed, newChunkPool(ctx)); !errors.Is(err, stop) {
		t.Fatalf("got %v, want %v", err, stop)
	}
	if opened != 1 {
		t.Errorf("%d sources opened, want 1: the pipe went on after it stopped", opened)
	}
}

// cancellingWriter cancels its write's context in its first Write, once
// wait, if set, is closed.
type cancellingWriter struct {
	cancel func()
	wait   chan struct{}
	calls  int
}

func (w *cancellingWriter) Write(b []byte) (int, error) {
	if w.calls++; w.calls == 1 {
		if w.wait != nil {
			<-w.wait
		}
		w.cancel()
	}
	return len(b), nil
}

type failingWriter struct {
	after, n, calls int
	err             error
}

func (w *failingWriter) Write(b []byte) (int, error) {
	w.calls++
	if w.n+len(b) > w.after {
		return 0, w.err
	}
	w.n += len(b)
	return len(b), nil
}

// TestHugeSparseFile streams a layer holding a sparse file just over the
// 8 GiB that a plain tar header can hold, reads it back with archive/tar as
// it comes, and checks the size, the PAX header, the contents and the
// diffID, without the file or the archive taking room on disk.
func TestHugeSparseFile(t *testing.T) {
	if testing.Short() {
		t.Skip("reads and hashes 8 GiB")
	}
	const size = 8<<30 + 1
	p := filepath.Join(t.TempDir(), "big")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("HEAD"), 0)
	f.WriteAt([]byte("TAIL"), size-4)
	f.Close()
	entries := fromPath(t, p, "/big")
	img := &Image{Architecture: "amd64", Layers: []Layer{{Entries: entries}}}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(img.WriteDockerArchive(pw)) }()
	defer pr.Close()

	var diffID string
	testenv.WalkTar(t, bufio.NewReaderSize(pr, chunkSize), func(h *tar.Header, outer io.Reader) {
		if h.Name != "layer-000.tar" {
			data, _ := io.ReadAll(outer)
			if strings.HasSuffix(h.Name, ".json") && h.Name != "manifest.json" && !bytes.Contains(data, []byte(diffID)) {
				t.Errorf("the config does not list the diffID %s: %s", diffID, data)
			}
			return
		}
		lh := sha256.New()
		inner := tar.NewReader(io.TeeReader(outer, lh))
		ih, err := inner.Next()
		if err != nil {
			t.Fatal(err)
		}
		if ih.Name != "big" || ih.Size != size || ih.Format != tar.FormatPAX {
			t.Fatalf("header %q, size %d, format %v", ih.Name, ih.Size, ih.Format)
		}
		var head, tail [4]byte
		io.ReadFull(inner, head[:])
		n, err := io.CopyBuffer(struct{ io.Writer }{io.Discard}, io.LimitReader(inner, size-8), make([]byte, chunkSize))
		if err != nil || n != size-8 {
			t.Fatalf("read %d bytes: %v", n, err)
		}
		io.ReadFull(inner, tail[:])
		if string(head[:]) != "HEAD" || string(tail[:]) != "TAIL" {
			t.Errorf("contents start with %q and end with %q", head, tail)
		}
		if _, err := inner.Next(); !errors.Is(err, io.EOF) {
			t.Fatalf("after the file: %v", err)
		}
		io.Copy(lh, outer)
		diffID = fmt.Sprintf("sha256:%x", lh.Sum(nil))
	})
	if diffID == "" {
		t.Fatal("no layer in the archive")
	}
}

// TestRewriteDetectsChange changes a source between the hash and the write
// of an oci-archive layer, keeping its size: the check sum must see it.
func TestRewriteDetectsChange(t *testing.T) {
	dir := tree(t, [][2]string{{"kernel", strings.Repeat("a", 3*chunkSize)}})
	p := filepath.Join(dir, "kernel")
	lp, err := planLayer(Layer{Entries: []Entry{fileEntry(t, p, "/kernel")}}, DefaultCreated)
	if err != nil {
		t.Fatal(err)
	}
	pool := newChunkPool(context.Background())
	b, err := lp.hash(pool)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := lp.rewrite(&out, b, pool); err != nil || int64(out.Len()) != b.size || fmt.Sprintf("%x", sha256.Sum256(out.Bytes())) != b.digest.Hex {
		t.Fatalf("rewriting an unchanged layer: %v", err)
	}
	f, _ := os.OpenFile(p, os.O_WRONLY, 0)
	f.WriteAt([]byte("b"), 2*chunkSize+7)
	f.Close()
	if err := lp.rewrite(io.Discard, b, pool); err == nil || !strings.Contains(err.Error(), "a source file changed while the image was written") {
		t.Errorf("rewriting a changed layer: %v", err)
	}
}
