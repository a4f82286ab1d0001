package image

import (
	"cmp"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func TestGroupLayers(t *testing.T) {
	for _, tc := range []struct {
		sizes []int64
		max   int
		want  string
	}{
		{[]int64{5, 1, 1}, 3, "[{0 1} {1 2} {2 3}]"},
		{[]int64{5, 1, 1}, 5, "[{0 1} {1 2} {2 3}]"},
		{[]int64{5, 1, 1}, 1, "[{0 3}]"},
		// The two small ones merge, then the smallest neighbour pair.
		{[]int64{10000, 1, 1, 10000, 1}, 3, "[{0 1} {1 3} {3 5}]"},
		// Ties go to the leftmost pair.
		{[]int64{1, 1, 1, 1}, 2, "[{0 2} {2 4}]"},
		// A large layer stays alone however many small ones there are.
		{append([]int64{1 << 30}, make([]int64, 200)...), 2, "[{0 1} {1 201}]"},
		{append(make([]int64, 200), 1<<30), 2, "[{0 200} {200 201}]"},
	} {
		var ls []Layer
		for _, s := range tc.sizes {
			ls = append(ls, Layer{Entries: []Entry{{Path: "/f", Type: Regular, Size: s}}})
		}
		if got := fmt.Sprint(groupLayers(ls, tc.max)); got != tc.want {
			t.Errorf("groupLayers(%v, %d) = %s, want %s", tc.sizes, tc.max, got, tc.want)
		}
	}
}

// TestMaxLayers writes an image of 150 one-file layers: by default it gets
// DefaultMaxLayers layers, with every file, and a history that keeps every
// step.
func TestMaxLayers(t *testing.T) {
	var files [][2]string
	for i := range 150 {
		files = append(files, [2]string{fmt.Sprintf("f%03d", i), strings.Repeat("x", i)})
	}
	dir := tree(t, files)
	img := &Image{RepoTags: []string{"urunc/many:v1"}, Architecture: "amd64"}
	for _, f := range files {
		e := fromPath(t, filepath.Join(dir, f[0]), "/files/"+f[0])
		img.Layers = append(img.Layers, Layer{Entries: e, CreatedBy: "copy " + f[0]})
	}
	for _, tc := range []struct {
		opts   []Option
		layers int
	}{{nil, DefaultMaxLayers}, {[]Option{WithMaxLayers(1)}, 1}, {[]Option{WithMaxLayers(150)}, 150}} {
		got, err := tarball.ImageFromPath(writePath(t, []*Image{img}, tc.opts...), nil)
		if err != nil {
			t.Fatal(err)
		}
		checkLayerDigests(t, got)
		layers, _ := got.Layers()
		cfg, _ := got.ConfigFile()
		if len(layers) != tc.layers || len(cfg.History) != 150 {
			t.Fatalf("%d layers, %d history entries; want %d and 150", len(layers), len(cfg.History), tc.layers)
		}
		nonEmpty := 0
		for i, h := range cfg.History {
			if h.CreatedBy != "copy "+files[i][0] {
				t.Errorf("history %d: %q", i, h.CreatedBy)
			}
			if !h.EmptyLayer {
				nonEmpty++
			}
		}
		if nonEmpty != tc.layers || cfg.History[len(cfg.History)-1].EmptyLayer {
			t.Errorf("%d non-empty history entries for %d layers, the last one empty: %v", nonEmpty, tc.layers, cfg.History[len(cfg.History)-1].EmptyLayer)
		}
		seen := map[string]int{}
		for _, l := range layers {
			rc, _ := l.Uncompressed()
			for _, line := range listLayer(t, rc) {
				seen[line]++
			}
			rc.Close()
		}
		for i, f := range files {
			if line := fmt.Sprintf("-rw-r--r-- files/%s %d", f[0], i); seen[line] != 1 {
				t.Errorf("%q is in %d layers", line, seen[line])
			}
		}
	}
}

// TestMergedLayersStack checks that merging keeps what stacking the layers
// would show: the later of two files at one path.
func TestMergedLayersStack(t *testing.T) {
	dir := tree(t, [][2]string{{"old", "old"}, {"new", "newer"}})
	img := &Image{Architecture: "amd64", Layers: []Layer{
		{Entries: []Entry{fileEntry(t, filepath.Join(dir, "old"), "/etc/conf")}, CreatedBy: "first"},
		{Entries: []Entry{{Path: "/etc", Type: Directory}, fileEntry(t, filepath.Join(dir, "new"), "/etc/conf")}, CreatedBy: "second"},
	}}
	got, err := tarball.ImageFromPath(writePath(t, []*Image{img}, WithMaxLayers(1)), nil)
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := got.Layers()
	rc, _ := layers[0].Uncompressed()
	defer rc.Close()
	if list := strings.Join(listLayer(t, rc), ", "); list != "drwxr-xr-x etc/, -rw-r--r-- etc/conf 5" {
		t.Errorf("merged layer holds %s", list)
	}
}

func TestComparePaths(t *testing.T) {
	// "/" sorts first, so that a directory's children follow it at once.
	sorted := []string{"/a", "/a/b", "/a/b/c", "/a/c", "/a-b", "/a.b", "/ab"}
	for i := range sorted {
		for j := range sorted {
			if got := ComparePaths(sorted[i], sorted[j]); got != cmp.Compare(i, j) {
				t.Errorf("ComparePaths(%q, %q) = %d", sorted[i], sorted[j], got)
			}
		}
	}
}

func TestModeRule(t *testing.T) {
	for _, tc := range []struct {
		e          Entry
		perm, mode uint32
	}{
		{Entry{Path: "/d", Type: Directory}, 0o755, 0o040755},
		{Entry{Path: "/x", Type: Regular, Executable: true}, 0o755, 0o100755},
		{Entry{Path: "/f", Type: Regular}, 0o644, 0o100644},
		{Entry{Path: "/l", Type: Symlink, Linkname: "f"}, 0o777, 0o120777},
	} {
		if got := tc.e.Perm(); got != tc.perm {
			t.Errorf("%s: Perm = %o, want %o", tc.e.Path, got, tc.perm)
		}
		if got := tc.e.Mode(); got != tc.mode {
			t.Errorf("%s: Mode = %o, want %o", tc.e.Path, got, tc.mode)
		}
		if got := header(tc.e, DefaultCreated).Mode; got != int64(tc.perm) {
			t.Errorf("%s: tar header mode = %o, want %o", tc.e.Path, got, tc.perm)
		}
	}
}
