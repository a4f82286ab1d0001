package sbom

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/nubificus/bunix/pkg/image"
	"github.com/nubificus/bunix/pkg/rootfs"
)

// extImage writes an ext file system of fsType holding tree.
func extImage(t *testing.T, fsType string, tree []image.Entry) []byte {
	t.Helper()
	tree, err := rootfs.Tree(tree)
	if err != nil {
		t.Fatal(err)
	}
	x, err := rootfs.PlanExt(tree, rootfs.ExtOptions{FSType: fsType})
	if err != nil {
		t.Fatal(err)
	}
	w := &memWriter{}
	if err := x.Write(w); err != nil {
		t.Fatal(err)
	}
	return w.b
}

type memWriter struct{ b []byte }

func (m *memWriter) WriteAt(p []byte, off int64) (int, error) {
	if end := off + int64(len(p)); end > int64(len(m.b)) {
		m.b = append(m.b, make([]byte, end-int64(len(m.b)))...)
	}
	return copy(m.b[off:], p), nil
}

// TestBlockReadCap: what a block image's files and directories make walk
// read is capped: past the cap, its files are not listed and the piece
// says why.
func TestBlockReadCap(t *testing.T) {
	tree := []image.Entry{
		{Path: "/d", Type: image.Directory},
		{Path: "/d/f", Type: image.Regular, Data: bytes.Repeat([]byte("x"), 1<<20), Size: 1 << 20},
	}
	for _, fsType := range []string{"ext2", "ext4"} {
		data := extImage(t, fsType, tree)
		for _, tc := range []struct {
			left int64 // what walk may read
			want string
		}{
			{1 << 21, ""},
			{1<<20 - 1, "/d/f: the files add up to more than"},
			{100, "/: the directories and files add up to more than"},
		} {
			func() {
				defer func(n int64) { extSlack = n }(extSlack)
				extSlack = tc.left - 4*int64(len(data))
				g := &generator{ctx: context.Background(), doc: &Document{}}
				files, err := g.blockFiles(bytes.NewReader(data))
				switch {
				case tc.want == "" && (err != nil || len(files) != 1 || files[0].path != "/d/f"):
					t.Errorf("%s, %d bytes allowed: %v, %v", fsType, tc.left, files, err)
				case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
					t.Errorf("%s, %d bytes allowed: %v, want %q", fsType, tc.left, err, tc.want)
				}
			}()
		}
	}
}
