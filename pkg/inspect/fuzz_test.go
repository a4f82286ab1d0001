package inspect

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// FuzzTree draws the tree of a list of paths (one a line; a first byte
// 'd' makes a directory, 'l' a symlink): it never panics, and no control
// character but the line ends reaches the output.
func FuzzTree(f *testing.F) {
	f.Add("d/a\n-/a/b\n-/a-x\nd/a/c\n-/a/c/d\n-/.wh.old")
	f.Add("-/usr/bin/env\n-/usr/lib/x\n-//\n-/")
	f.Add("-/evil\x1b]0;t\x07\nl/link\n-/a/../b\n-/.wh..wh..opq")
	f.Fuzz(func(t *testing.T, list string) {
		var layers []Layer
		var files []File
		for _, line := range strings.Split(list, "\n") {
			if line == "" {
				layers = append(layers, Layer{Files: files})
				files = nil
				continue
			}
			f := File{Path: "/" + strings.TrimLeft(line[1:], "/")}
			switch line[0] {
			case 'd':
				f.Mode = fs.ModeDir | 0o755
			case 'l':
				f.Mode, f.Linkname = fs.ModeSymlink, line
			}
			files = append(files, f)
		}
		r := &Report{Layers: append(layers, Layer{Files: files})}
		var b bytes.Buffer
		if err := r.WriteText(&b); err != nil {
			t.Fatal(err)
		}
		for _, c := range b.String() {
			if c < 0x20 && c != '\n' || c == 0x7f {
				t.Fatalf("control character %q in the output:\n%s", c, b.String())
			}
		}
	})
}

// FuzzReadLayer lists a layer made from fuzzed entries, one a line
// ("TYPE NAME" or "TYPE NAME -> LINK", TYPE a tar type flag byte), each
// holding content, compressed as comp says (0 none, 1 gzip, 2 zstd), then
// appended with tail; and writes the report. Small structured inputs keep
// the fuzzer fast; the raw tar decoding itself is archive/tar's.
func FuzzReadLayer(f *testing.F) {
	f.Add(uint8(0), "0 unikernel/kernel\n5 unikernel\n2 lib -> /x\n0 urunc.json", []byte("K"), []byte{})
	f.Add(uint8(1), "0 a/b/c\n0 .wh.a\n0 d/.wh..wh..opq", []byte{}, []byte{0})
	f.Add(uint8(2), "0 \x1b]0;t\a", []byte("x"), []byte("trailing"))
	f.Fuzz(func(t *testing.T, comp uint8, entries string, content, tail []byte) {
		var layer bytes.Buffer
		var w io.WriteCloser = nopWriteCloser{&layer}
		switch comp % 3 {
		case 1:
			w = gzip.NewWriter(&layer)
		case 2:
			zw, err := zstd.NewWriter(&layer, zstd.WithEncoderConcurrency(1))
			if err != nil {
				t.Fatal(err)
			}
			w = zw
		}
		tw := tar.NewWriter(w)
		for _, e := range strings.Split(entries, "\n") {
			if len(e) < 2 {
				continue
			}
			name, link, _ := strings.Cut(e[2:], " -> ")
			h := &tar.Header{Typeflag: e[0], Name: name, Linkname: link, Mode: 0o755}
			if h.Typeflag == tar.TypeReg {
				h.Size = int64(len(content))
			}
			if tw.WriteHeader(h) != nil {
				continue
			}
			if h.Size > 0 {
				tw.Write(content)
			}
		}
		tw.Close()
		w.Close()
		layer.Write(tail)
		r := &Report{Layers: make([]Layer, 1)}
		if err := readLayer(bytes.NewReader(layer.Bytes()), &r.Layers[0], r); err != nil {
			return
		}
		if err := r.WriteText(io.Discard); err != nil {
			t.Fatal(err)
		}
	})
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
