package rootfs

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/nubificus/bunix/pkg/image"
)

// Tree returns entries plus the directories above them, each path once, in
// depth-first order with the children of a directory sorted by name, right
// after it. Paths must be absolute and clean. The root "/" itself is left
// out: a directory entry for it is dropped. A path given twice is an error unless both times it is a directory.
func Tree(entries []image.Entry) ([]image.Entry, error) {
	byPath := make(map[string]image.Entry, len(entries))
	for _, e := range entries {
		if e.Path == "/" && e.Type == image.Directory {
			continue // a directory copied to the root is the root
		}
		if !path.IsAbs(e.Path) || path.Clean(e.Path) != e.Path || e.Path == "/" {
			return nil, fmt.Errorf("rootfs entry path %q must be absolute, clean and not /", e.Path)
		}
		if old, ok := byPath[e.Path]; ok && !(old.Type == image.Directory && e.Type == image.Directory) {
			return nil, fmt.Errorf("rootfs path %s is given twice (as a %s and as a %s)", e.Path, old.Type, e.Type)
		}
		byPath[e.Path] = e
	}
	for _, e := range entries {
		for dir := path.Dir(e.Path); dir != "/"; dir = path.Dir(dir) {
			old, ok := byPath[dir]
			if !ok {
				byPath[dir] = image.Entry{Path: dir, Type: image.Directory}
			} else if old.Type != image.Directory {
				return nil, fmt.Errorf("rootfs path %s is a %s, but %s needs it to be a directory", dir, old.Type, e.Path)
			}
		}
	}
	out := make([]image.Entry, 0, len(byPath))
	for _, e := range byPath {
		out = append(out, e)
	}
	// With "/" as the lowest byte, a directory's children follow it.
	key := func(p string) string { return strings.ReplaceAll(p, "/", "\x00") }
	sort.Slice(out, func(i, j int) bool { return key(out[i].Path) < key(out[j].Path) })
	return out, nil
}

// Unix file type and permission bits, as cpio and ext store them.
const (
	modeDir     = 0o040000
	modeRegular = 0o100000
	modeSymlink = 0o120000
)

// mode returns e's Unix mode. It is the one place that decides modes in a
// rootfs, by the rule of the image layers: 0755 for directories and
// executables, 0644 for other files, 0777 for symlinks.
func mode(e image.Entry) uint32 {
	switch e.Type {
	case image.Directory:
		return modeDir | 0o755
	case image.Symlink:
		return modeSymlink | 0o777
	}
	if e.Executable {
		return modeRegular | 0o755
	}
	return modeRegular | 0o644
}
