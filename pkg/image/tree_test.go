package image

import (
	"fmt"
	"path"
	"reflect"
	"slices"
	"testing"
)

// treeBySort is Tree as it was until 2026-12-07: every path into a map,
// then sorted. FuzzTree holds Tree, which sorts only what is out of order,
// to the same entries and the same errors.
func treeBySort(entries []Entry) ([]Entry, error) {
	byPath := make(map[string]Entry, len(entries))
	for _, e := range entries {
		if !path.IsAbs(e.Path) || path.Clean(e.Path) != e.Path || e.Path == "/" {
			return nil, fmt.Errorf("entry path %q must be absolute, clean and not /", e.Path)
		}
		if old, ok := byPath[e.Path]; ok && !(old.Type == Directory && e.Type == Directory) {
			return nil, fmt.Errorf("%s is given twice (as a %s and as a %s)", e.Path, old.Type, e.Type)
		}
		byPath[e.Path] = e
	}
	for _, e := range entries {
		for dir := path.Dir(e.Path); dir != "/"; dir = path.Dir(dir) {
			old, ok := byPath[dir]
			if !ok {
				byPath[dir] = Entry{Path: dir, Type: Directory}
				continue
			}
			if old.Type != Directory {
				return nil, fmt.Errorf("%s is a %s, but %s needs it to be a directory", dir, old.Type, e.Path)
			}
		}
	}
	out := make([]Entry, 0, len(byPath))
	for _, e := range byPath {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Entry) int { return ComparePaths(a.Path, b.Path) })
	return out, nil
}

// treePaths are the paths FuzzTree draws from: siblings that sort around
// "/" ("/a-b", "/a.b" and "/a/b"), nesting, and paths Tree refuses.
var treePaths = []string{"/a", "/a/b", "/a-b", "/a/b/c", "/b", "/a.b", "/a/c", "/c/d/e", "/a/b-c", "relative", "/a/../b", "/"}

// FuzzTree: each pair of bytes is an entry, a path of treePaths and a type;
// Tree must give what treeBySort gives.
func FuzzTree(f *testing.F) {
	f.Add([]byte{0, 1, 1, 0, 2, 0, 3, 0})
	f.Add([]byte{3, 0, 1, 1, 0, 1, 2, 2, 5, 0})
	f.Add([]byte{0, 0, 1, 0})         // a file, then a file below it
	f.Add([]byte{0, 1, 0, 1})         // a directory twice: the last is kept
	f.Add([]byte{0, 1, 0, 1, 0, 0})   // a directory twice, then as a file
	f.Add([]byte{7, 0, 4, 2, 6, 1})   // implied directories
	f.Add([]byte{9, 0, 10, 0, 11, 0}) // refused paths
	f.Fuzz(func(t *testing.T, b []byte) {
		var entries []Entry
		for i := 0; i+1 < len(b); i += 2 {
			e := Entry{Path: treePaths[int(b[i])%len(treePaths)], Type: []Type{Regular, Directory, Symlink}[int(b[i+1])%3]}
			e.Size = int64(i) // tells apart two entries of one path
			entries = append(entries, e)
		}
		got, err := Tree(entries)
		want, wantErr := treeBySort(entries)
		if fmt.Sprint(err) != fmt.Sprint(wantErr) {
			t.Fatalf("%v: Tree: %v, by sorting: %v", entries, err, wantErr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%v:\nTree       %v\nby sorting %v", entries, got, want)
		}
	})
}

// TestTreeInOrder: a tree listed in tree order, as FromPath lists one,
// comes back as it was, its implied directories in place.
func TestTreeInOrder(t *testing.T) {
	got, err := Tree([]Entry{{Path: "/x/a", Type: Directory}, {Path: "/x/a/b", Type: Regular}, {Path: "/x/a-b", Type: Regular}})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range got {
		paths = append(paths, e.Path)
	}
	if want := []string{"/x", "/x/a", "/x/a/b", "/x/a-b"}; !slices.Equal(paths, want) {
		t.Errorf("got %v, want %v", paths, want)
	}
}
