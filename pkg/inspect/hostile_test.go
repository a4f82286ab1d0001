package inspect

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// TestTreeMissingParents: layers that list files without their parent
// directories (as many third-party images do) draw the parents all the
// same, instead of panicking.
func TestTreeMissingParents(t *testing.T) {
	var b bytes.Buffer
	writeTree(&b, []File{{Path: "/"}, {Path: "/usr/bin/env", Size: 3}, {Path: "/usr/lib/x", Size: 1}, {Path: "/z", Mode: fs.ModeDir | 0o755}})
	want := `  /
  ├── usr/  (no entry of its own)
  │   ├── bin/  (no entry of its own)
  │   │   └── env  3 bytes  ---------- 0:0
  │   └── lib/  (no entry of its own)
  │       └── x  1 bytes  ---------- 0:0
  └── z/  drwxr-xr-x 0:0
`
	if b.String() != want {
		t.Errorf("tree:\n%s\nwant:\n%s", b.String(), want)
	}
}

// TestHostileNames: file names, link targets and labels with control
// characters reach the text report escaped, not raw.
func TestHostileNames(t *testing.T) {
	r := &Report{
		RepoTags: []string{"x\x1b]0;pwned\x07"},
		Labels:   map[string]string{"l\nfake": "v\x1b[31m"},
		Layers: []Layer{{CreatedBy: "a\rb", Files: []File{
			{Path: "/evil\x1b]0;title\x07"},
			{Path: "/two\nlines", Size: 1},
			{Path: "/link", Mode: fs.ModeSymlink, Linkname: "\x1b[2J"},
			{Path: "/bad\xff"},
		}}},
	}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, c := range []string{"\x1b", "\x07", "\r", "\xff", "two\nlines", "l\nfake"} {
		if strings.Contains(out, c) {
			t.Errorf("the report holds %q raw:\n%s", c, out)
		}
	}
	for _, want := range []string{`"evil\x1b]0;title\a"`, `"two\nlines"`, `-> "\x1b[2J"`, `"bad\xff"`, `"l\nfake"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %s:\n%s", want, out)
		}
	}
}

// manyEntries returns a layer tar of n empty files in one directory.
func manyEntries(n int) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		for i := range n {
			if err := tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("d/f%07d", i), Mode: 0o644, Typeflag: tar.TypeReg}); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.CloseWithError(tw.Close())
	}()
	return pr
}

// TestListingCapped: a layer of more entries than MaxListed lists
// MaxListed, counts the rest, still hashes the whole layer, and the text
// report caps the tree and says how much it left out.
func TestListingCapped(t *testing.T) {
	const extra = 10
	r := &Report{Layers: make([]Layer, 1)}
	if err := readLayer(manyEntries(MaxListed+extra), &r.Layers[0], r); err != nil {
		t.Fatal(err)
	}
	l := r.Layers[0]
	if len(l.Files) != MaxListed || l.Omitted != extra || l.Size != int64(MaxListed+extra)*512+1024 {
		t.Fatalf("listed %d, omitted %d, size %d", len(l.Files), l.Omitted, l.Size)
	}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if n := strings.Count(out, "\n"); n > maxTreeLines+100 {
		t.Errorf("the report has %d lines", n)
	}
	for _, want := range []string{
		fmt.Sprintf("... and %d more entries (the tree shows", MaxListed+1-maxTreeLines),
		fmt.Sprintf("... and %d more entries not listed", extra),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
}

// TestNamesPerImage: images of one index that share a name each report
// that one name, not every name of the index.
func TestNamesPerImage(t *testing.T) {
	dir := t.TempDir()
	p, _ := layout.Write(dir, empty.Index)
	for range 3 {
		img, _ := random.Image(100, 1)
		if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "same:1"})); err != nil {
			t.Fatal(err)
		}
	}
	rs, err := Path(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rs {
		if len(r.RepoTags) != 1 || r.RepoTags[0] != "same:1" {
			t.Errorf("report %d names %q", i, r.RepoTags)
		}
	}
}

// TestOpaqueWhiteout: .wh..wh..opq hides a directory's lower contents,
// not the directory, nor what its own layer adds.
func TestOpaqueWhiteout(t *testing.T) {
	r := &Report{Layers: []Layer{
		{Files: []File{{Path: "/d", Mode: fs.ModeDir}, {Path: "/d/old"}, {Path: "/e"}}},
		{Files: []File{{Path: "/d/.wh..wh..opq"}, {Path: "/d/new"}}},
	}}
	var got []string
	for _, f := range r.Files() {
		got = append(got, f.Path)
	}
	if strings.Join(got, " ") != "/d /d/new /e" {
		t.Errorf("files %q", got)
	}
}

// TestRootWhiteout: a whiteout of / itself (".wh." or ".wh.." at the top)
// hides nothing, as OpenBase reads a base's layers (image.Whiteout); a
// whiteout of a file still hides it.
func TestRootWhiteout(t *testing.T) {
	for _, w := range []string{"/.wh.", "/.wh.."} {
		r := &Report{Layers: []Layer{
			{Files: []File{{Path: "/a"}, {Path: "/d", Mode: fs.ModeDir}, {Path: "/d/x"}}},
			{Files: []File{{Path: w}, {Path: "/d/.wh.x"}}},
		}}
		var got []string
		for _, f := range r.Files() {
			got = append(got, f.Path)
		}
		if strings.Join(got, " ") != "/a /d" {
			t.Errorf("%s: files %q, want /a /d", w, got)
		}
	}
}

// TestZstdWindowCapped: a zstd layer whose frame asks for a 256 MiB window
// is refused, as pkg/image's reader refuses it, instead of being given one.
func TestZstdWindowCapped(t *testing.T) {
	// Magic, a frame header with no content size and a window descriptor
	// of 2^28 bytes, then one empty raw last block.
	frame := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 18 << 3, 0x01, 0x00, 0x00}
	r := &Report{Layers: make([]Layer, 1)}
	err := readLayer(bytes.NewReader(frame), &r.Layers[0], r)
	if err == nil || !strings.Contains(err.Error(), "window") {
		t.Fatalf("readLayer(256 MiB window) = %v, want a window size error", err)
	}
}

// TestUruncJSONCap: a /urunc.json over urunc.MaxJSONSize (1 MiB) is refused
// by its size in the header, before it is read.
func TestUruncJSONCap(t *testing.T) {
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	data := bytes.Repeat([]byte(" "), 1<<20+1)
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "urunc.json", Mode: 0o644, Size: int64(len(data))}); err != nil {
		t.Fatal(err)
	}
	tw.Write(data)
	tw.Close()
	r := &Report{Layers: make([]Layer, 1)}
	err := readLayer(&layer, &r.Layers[0], r)
	if err == nil || err.Error() != "/urunc.json is 1048577 bytes, over the 1048576-byte cap" {
		t.Fatalf("readLayer(1 MiB + 1 urunc.json) = %v", err)
	}
}

// manyLayers is an image whose manifest names its one layer n times, and
// that counts the layers read.
type manyLayers struct {
	v1.Image
	n     int
	reads int
}

func (m *manyLayers) Manifest() (*v1.Manifest, error) {
	mf, err := m.Image.Manifest()
	if err != nil {
		return nil, err
	}
	out := *mf
	out.Layers = nil
	for range m.n {
		out.Layers = append(out.Layers, mf.Layers[0])
	}
	return &out, nil
}

func (m *manyLayers) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	m.reads++
	return m.Image.LayerByDigest(h)
}

// TestLayerCountFirst: a manifest naming more layers than the config has
// diffIDs is refused before a layer is read, not after reading them all.
func TestLayerCountFirst(t *testing.T) {
	base, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	img := &manyLayers{Image: base, n: 1000}
	_, err = Image(img, nil)
	if err == nil || !strings.Contains(err.Error(), "the config lists 1 diffIDs for 1000 layers") {
		t.Fatalf("got %v", err)
	}
	if img.reads != 0 {
		t.Errorf("read %d layers before refusing the image", img.reads)
	}
}
