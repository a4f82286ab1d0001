package image

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/nubificus/bunix/internal/filekind"
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
	// Source is the file on disk whose bytes a regular file holds: from
	// FromPath, an absolute path with no symlink in it. When it is empty,
	// Data holds the bytes.
	Source string
	Data   []byte
	// Root is the directory that FromPath listed, its links resolved,
	// with Source below it, and ID the device and inode Source had then. A
	// writer opens Source below Root following no symlink, and only if it
	// is still that file (Open). A Root of "" opens Source by its name, a
	// file the caller made itself (a rootfs bunix built), still checked
	// against ID.
	Root string
	ID   filekind.ID
	// Linkname is a symlink's target, kept as it is.
	Linkname string
}

// Open opens the regular file Source for reading, as planned: below Root,
// following no symlink, and only if it is still the file ID names. A
// source replaced since (by a symlink, another file, or a file of another
// type), or below a directory replaced since, is a
// *filekind.ChangedError: the image would not hold what was planned.
func (e Entry) Open() (*os.File, error) {
	return filekind.OpenPlannedFile(e.Root, e.Source, e.ID)
}

// MaxPath is the longest path a layer entry may have: a container runtime
// unpacks each at its path under a snapshot's directory, and Linux takes
// no path of PATH_MAX (4096) bytes or more, with its NUL, in a system call.
const MaxPath = 4095

// FromPath returns the entries for copying source to target: one regular file,
// or a directory tree in lexical order with its symlinks kept as symlinks. A
// symlink named directly as source is followed; below it, none is. Sizes,
// devices and inodes are read now, and checked again when the bytes are
// written (Entry.Open).
func FromPath(source, target string) ([]Entry, error) {
	// Stat first: its errors name source as given.
	if _, err := os.Stat(source); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(source)
	if err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, err
	}
	fi, err := os.Lstat(real)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		e, err := entryFor(filepath.Dir(real), real, target, fi.Mode(), fi.Size(), filekind.IDOf(fi), nil)
		if err != nil {
			return nil, err
		}
		return []Entry{e}, nil
	}
	d, err := filekind.OpenDir(real)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	if got := filekind.IDOf(fi); !sameDir(d, got) {
		return nil, &filekind.ChangedError{Path: real, While: "its files were listed", Reason: "it is now another directory"}
	}
	out := []Entry{{Path: target, Type: Directory}}
	if err := walkDir(d, real, real, target, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// sameDir reports whether the open directory d is id.
func sameDir(d *os.File, id filekind.ID) bool {
	fi, err := d.Stat()
	return err == nil && filekind.IDOf(fi) == id
}

// walkDir appends the entries below the open directory d, which is dir
// (below root) and goes to target, in lexical order, each directory
// followed by what it holds. It reaches every file through d and opens
// no symlink: a directory swapped for a link while it walks is an error,
// not a walk of the link's target.
func walkDir(d *os.File, root, dir, target string, out *[]Entry) error {
	names, err := d.Readdirnames(-1)
	if err != nil {
		return &fs.PathError{Op: "readdirent", Path: dir, Err: unwrapPath(err)}
	}
	slices.Sort(names)
	for _, n := range names {
		p, t := filepath.Join(dir, n), path.Join(target, n)
		var st unix.Stat_t
		if err := unix.Fstatat(int(d.Fd()), n, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return &fs.PathError{Op: "lstat", Path: p, Err: err}
		}
		id := filekind.ID{Dev: uint64(st.Dev), Ino: st.Ino}
		mode := filekind.ModeOf(st.Mode) | fs.FileMode(st.Mode&0o777)
		e, err := entryFor(root, p, t, mode, st.Size, id, d)
		if err != nil {
			return err
		}
		*out = append(*out, e)
		if e.Type != Directory {
			continue
		}
		sub, err := filekind.OpenSubdir(d, n, p, id)
		if err != nil {
			return err
		}
		err = walkDir(sub, root, p, t, out)
		sub.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// entryFor returns the entry of the file p below root, of the given mode,
// size and ID; d is the open directory that holds it, nil for a file
// named alone.
func entryFor(root, p, target string, m fs.FileMode, size int64, id filekind.ID, d *os.File) (Entry, error) {
	switch {
	case m.IsRegular():
		return Entry{Path: target, Type: Regular, Size: size, Source: p, Root: root, ID: id, Executable: m.Perm()&0o111 != 0}, nil
	case m.IsDir():
		return Entry{Path: target, Type: Directory}, nil
	case m&fs.ModeSymlink != 0:
		link, err := readlinkIn(d, p)
		if err != nil {
			return Entry{}, err
		}
		return Entry{Path: target, Type: Symlink, Linkname: link}, nil
	default:
		return Entry{}, fmt.Errorf("%s: unsupported file type: it is %s (only regular files, directories and symlinks can be copied)", p, filekind.Of(m))
	}
}

// readlinkIn reads the symlink p, named in the open directory d.
func readlinkIn(d *os.File, p string) (string, error) {
	if d == nil {
		return os.Readlink(p)
	}
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(int(d.Fd()), filepath.Base(p), buf)
		if err != nil {
			return "", &fs.PathError{Op: "readlink", Path: p, Err: err}
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}

// unwrapPath drops the operation and path of a *fs.PathError, which the
// message already names.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
