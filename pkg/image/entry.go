package image

import (
	"fmt"
	"github.com/nubificus/bunix/internal/filekind"
	"io/fs"
	"os"
	"path"
	"path/filepath"
)

// Type is the kind of an Entry.
type Type uint8

// The kinds of Entry.
const (
	Regular Type = iota
	Directory
	Symlink
)

func (t Type) String() string {
	switch t {
	case Regular:
		return "file"
	case Directory:
		return "directory"
	case Symlink:
		return "symlink"
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// Entry is one file system object of a layer, at its path in the image.
type Entry struct {
	// Path is absolute and clean, e.g. "/unikernel/kernel".
	Path string
	Type Type
	// Executable makes a regular file's mode 0755 rather than 0644.
	Executable bool
	// Size is a regular file's length in bytes.
	Size int64
	// Source is the file on disk whose bytes a regular file holds; when it is
	// empty, Data holds the bytes.
	Source string
	Data   []byte
	// Linkname is a symlink's target, kept as it is.
	Linkname string
}

// FromPath returns the entries for copying source to target: one regular file,
// or a directory tree in lexical order with its symlinks kept as symlinks. A
// symlink named directly as source is followed. Sizes are read now and checked
// again when the bytes are written.
func FromPath(source, target string) ([]Entry, error) {
	fi, err := os.Stat(source)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		e, err := entryFor(source, target, fi)
		if err != nil {
			return nil, err
		}
		return []Entry{e}, nil
	}
	// WalkDir does not descend into a root that is a symlink: walk its target.
	if source, err = filepath.EvalSymlinks(source); err != nil {
		return nil, err
	}
	var out []Entry
	err = filepath.WalkDir(source, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(source, p)
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if p == source {
			// The root itself was reached through Stat, so it is a directory
			// even when source is a symlink to one.
			out = append(out, Entry{Path: target, Type: Directory})
			return nil
		}
		e, err := entryFor(p, path.Join(target, filepath.ToSlash(rel)), fi)
		if err != nil {
			return err
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func entryFor(p, target string, fi fs.FileInfo) (Entry, error) {
	switch m := fi.Mode(); {
	case m.IsRegular():
		return Entry{Path: target, Type: Regular, Size: fi.Size(), Source: p, Executable: m.Perm()&0o111 != 0}, nil
	case m.IsDir():
		return Entry{Path: target, Type: Directory}, nil
	case m&fs.ModeSymlink != 0:
		link, err := os.Readlink(p)
		if err != nil {
			return Entry{}, err
		}
		return Entry{Path: target, Type: Symlink, Linkname: link}, nil
	default:
		return Entry{}, fmt.Errorf("%s: unsupported file type: it is %s (only regular files, directories and symlinks can be copied)", p, filekind.Of(m))
	}
}
