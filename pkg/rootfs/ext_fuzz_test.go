package rootfs

import (
	"bytes"
	"errors"
	"path"
	"strings"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/image"
)

// fuzzTree decodes data into a small tree: each entry is a kind byte
// (directory, file, symlink, or up one directory), a name length (255 and
// a further byte adds up to 255 more, past the limit), the name, and a
// file's size or a symlink's target length. Names keep any byte but "/".
func fuzzTree(data []byte) []image.Entry {
	next := func() int {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return int(b)
	}
	var out []image.Entry
	dir := "/"
	for len(data) > 0 && len(out) < 64 {
		kind := next() % 4
		if kind == 3 {
			dir = path.Dir(dir)
			continue
		}
		l := next()
		if l == 255 {
			l += next()
		}
		name := strings.ReplaceAll(string(data[:min(l, len(data))]), "/", "_")
		data = data[min(l, len(data)):]
		if len(name) < l {
			name += strings.Repeat("n", l-len(name))
		}
		if name == "" || name == "." || name == ".." {
			name = "x" + name
		}
		p := path.Join(dir, name)
		switch kind {
		case 0:
			out = append(out, image.Entry{Path: p, Type: image.Directory})
			dir = p
		case 1:
			size := next() * next() * 7
			body := bytes.Repeat([]byte(name+"\n"), size/(len(name)+1)+1)[:size]
			out = append(out, image.Entry{Path: p, Type: image.Regular, Data: body})
		case 2:
			n := next()*20 + next()
			out = append(out, image.Entry{Path: p, Type: image.Symlink, Linkname: strings.Repeat("t/", n/2+1)[:n]})
		}
	}
	return out
}

var fuzzSeeds = [][]byte{
	{0, 3, 'e', 't', 'c', 1, 4, 'c', 'o', 'n', 'f', 200, 100, 2, 4, 'l', 'i', 'n', 'k', 30, 0, 3, 0, 1, 'd', 0, 1, 'e', 1, 1, 'f', 255, 255},
	{1, 255, 0},          // a name of 255 bytes
	{1, 255, 1},          // and of 256
	{2, 1, 's', 204, 15}, // a symlink of 4095 bytes
	{2, 1, 's', 204, 16}, // and of 4096
	{2, 1, 's', 2, 19},   // a fast symlink at 59
	{2, 1, 's', 3, 0},    // and a slow one at 60
	{0, 10, 'l', 'o', 's', 't', '+', 'f', 'o', 'u', 'n', 'd'},
	{1, 3, 'a', 0, 'b', 1, 1},
	{0, 1, 'a', 0, 1, 'b', 0, 1, 'c', 0, 1, 'd', 0, 1, 'e', 1, 1, 'f', 9, 9, 3, 3, 3, 0, 1, 'z', 1, 1, 'y', 255, 255},
}

// planFuzz builds the tree of data and plans it: nil when the tree or the
// plan refuses it, as it may, for a reason it names.
func planFuzz(t *testing.T, data []byte, fsType string) (*Ext, []image.Entry) {
	t.Helper()
	tree, err := Tree(fuzzTree(data))
	if err != nil {
		return nil, nil // a path given twice
	}
	x, err := PlanExt(tree, ExtOptions{FSType: fsType, MTime: mtime})
	var le *LimitError
	if errors.As(err, &le) {
		return nil, nil
	}
	if err != nil {
		t.Fatalf("PlanExt refused a tree with an error that names no limit: %v", err)
	}
	return x, tree
}

// FuzzExt builds an ext image from a fuzzed small tree: PlanExt refuses it
// with a *LimitError, or the image it writes reads back exactly, by an
// independent reader that checks the structure (checkImage).
func FuzzExt(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, data []byte, ext4 bool) {
		fsType := map[bool]string{false: "ext2", true: "ext4"}[ext4]
		x, tree := planFuzz(t, data, fsType)
		if x == nil {
			return
		}
		img := memImage{b: make([]byte, 0, x.Size())}
		if err := x.Write(&img); err != nil {
			t.Fatal(err)
		}
		if int64(len(img.b)) != x.Size() {
			t.Fatalf("image is %d bytes, Size says %d", len(img.b), x.Size())
		}
		if err := checkImage(img.b, tree); err != nil {
			t.Fatalf("%s image of %d entries: %v", fsType, len(tree), err)
		}
		// What the writer writes, Detect takes as a prebuilt rootfs.
		if k, err := detect(bytes.NewReader(img.b), "fuzz"); err != nil || k.String() != fsType {
			t.Fatalf("%s image of %d entries: Detect says %v, %v", fsType, len(tree), k, err)
		}
	})
}

// TestExtSeedsE2fsck writes the fuzz seeds that plan and checks each image
// with both e2fsck and checkImage, so the fuzz target's checker agrees
// with the real one; and a damaged image fails checkImage.
func TestExtSeedsE2fsck(t *testing.T) {
	written := 0
	for i, s := range fuzzSeeds {
		for _, fs := range []string{"ext2", "ext4"} {
			x, tree := planFuzz(t, s, fs)
			if x == nil {
				continue
			}
			p := writePlanned(t, x)
			tool(t, "e2fsck", "-fn", p)
			img := testenv.ReadFile(t, p)
			if err := checkImage(img, tree); err != nil {
				t.Errorf("seed %d, %s: %v", i, fs, err)
			}
			written++
			// Rename the root's first entry after lost+found: the tree
			// no longer matches.
			root := x.nodes[0].data[0].start
			img[int(root)*blockSize+24+dirEntryLen("lost+found")+8] ^= 1
			if err := checkImage(img, tree); err == nil {
				t.Errorf("seed %d, %s: checkImage passed a damaged image", i, fs)
			}
		}
	}
	if written < 10 {
		t.Errorf("only %d seed images written", written)
	}
}

// TestCheckImageSample runs checkImage on the sample tree, files read
// from disk.
func TestCheckImageSample(t *testing.T) {
	tree := sampleTree(t, sample(t))
	for _, fs := range []string{"ext2", "ext4"} {
		if err := checkImage(testenv.ReadFile(t, writeExt(t, tree, ExtOptions{FSType: fs, MTime: mtime})), tree); err != nil {
			t.Errorf("%s: %v", fs, err)
		}
	}
}
