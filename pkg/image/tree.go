package image

import (
	"fmt"
	"path"
	"slices"
)

// Tree returns entries plus the directories above them, each path once, in
// tree order: parents first, and the children of a directory sorted by
// name right after it (see ComparePaths). Paths must be absolute, clean and
// not "/". A path given twice is an error unless both times it is a
// directory, and so is a path whose parent is not a directory.
//
// It is the one tree rule of bunix's images: the layer writer and the
// initrd and ext writers of pkg/rootfs order their files by it.
func Tree(entries []Entry) ([]Entry, error) {
	// out holds each path once, given entries first, in the order given;
	// at says where.
	at := make(map[string]int, len(entries))
	out := make([]Entry, 0, len(entries))
	for _, e := range entries {
		if !path.IsAbs(e.Path) || path.Clean(e.Path) != e.Path || e.Path == "/" {
			return nil, fmt.Errorf("entry path %q must be absolute, clean and not /", e.Path)
		}
		i, ok := at[e.Path]
		if !ok {
			at[e.Path] = len(out)
			out = append(out, e)
			continue
		}
		if old := out[i]; !(old.Type == Directory && e.Type == Directory) {
			return nil, fmt.Errorf("%s is given twice (as a %s and as a %s)", e.Path, old.Type, e.Type)
		}
		out[i] = e
	}
	for given, j := len(out), 0; j < given; j++ {
		e := out[j]
		for dir := path.Dir(e.Path); dir != "/"; dir = path.Dir(dir) {
			i, ok := at[dir]
			if !ok {
				at[dir] = len(out)
				out = append(out, Entry{Path: dir, Type: Directory})
				continue
			}
			if old := out[i]; old.Type != Directory {
				return nil, fmt.Errorf("%s is a %s, but %s needs it to be a directory", dir, old.Type, e.Path)
			}
		}
	}
	// A tree listed in order (FromPath's) needs no sorting.
	cmp := func(a, b Entry) int { return ComparePaths(a.Path, b.Path) }
	if !slices.IsSortedFunc(out, cmp) {
		slices.SortFunc(out, cmp)
	}
	return out, nil
}

// ComparePaths orders paths as Tree does: bytewise, but with "/" below
// every other byte, which keeps every directory's children right after it
// ("/a", "/a/b", "/a-b"). It returns -1, 0 or +1, for slices.SortFunc.
func ComparePaths(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		x, y := a[i], b[i]
		switch {
		case x == y:
			continue
		case x == '/':
			return -1
		case y == '/':
			return 1
		case x < y:
			return -1
		default:
			return 1
		}
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}

// Unix file type bits, as cpio and ext store them above the permission
// bits of a mode.
const (
	UnixDir     = 0o040000
	UnixRegular = 0o100000
	UnixSymlink = 0o120000
)

// Perm returns e's permission bits. It is the one mode rule of bunix's
// images, in layers and in rootfs images alike: 0755 for directories and
// executables, 0644 for other regular files, 0777 for symlinks.
func (e Entry) Perm() uint32 {
	switch e.Type {
	case Directory:
		return 0o755
	case Symlink:
		return 0o777
	}
	if e.Executable {
		return 0o755
	}
	return 0o644
}

// Mode returns e's Unix mode, as cpio and ext store it: the file type bits
// (UnixDir, UnixRegular or UnixSymlink) and Perm.
func (e Entry) Mode() uint32 {
	switch e.Type {
	case Directory:
		return UnixDir | e.Perm()
	case Symlink:
		return UnixSymlink | e.Perm()
	}
	return UnixRegular | e.Perm()
}
