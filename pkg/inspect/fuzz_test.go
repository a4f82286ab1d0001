package inspect

import (
	"bytes"
	"io"
	"io/fs"
	"strings"
	"testing"
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

// FuzzReadLayer lists bytes as a layer, plain, gzip or zstd, and writes
// the report.
func FuzzReadLayer(f *testing.F) {
	// One header, without the end-of-archive blocks: small seeds keep
	// the fuzzer's minimization quick.
	var tarred bytes.Buffer
	io.Copy(&tarred, manyEntries(1))
	f.Add(tarred.Bytes()[:512])
	f.Add([]byte{0x1f, 0x8b, 8, 0})
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &Report{Layers: make([]Layer, 1)}
		if err := readLayer(bytes.NewReader(data), &r.Layers[0], r); err != nil {
			return
		}
		if err := r.WriteText(io.Discard); err != nil {
			t.Fatal(err)
		}
	})
}
