package filekind

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// ID is what names a file while it exists: its device and inode.
type ID struct{ Dev, Ino uint64 }

// IDOf returns the device and inode of fi, which os.Stat, os.Lstat or
// File.Stat returned; the zero ID when fi does not carry them.
func IDOf(fi fs.FileInfo) ID {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ID{}
	}
	return ID{Dev: uint64(st.Dev), Ino: st.Ino}
}

func (id ID) String() string {
	return fmt.Sprintf("device %d:%d, inode %d", unix.Major(id.Dev), unix.Minor(id.Dev), id.Ino)
}

// ChangedError is a source that is not the file a plan found there: it, or
// a directory above it, was replaced (by a symbolic link, another file, or
// a file of another type) between the plan and the read.
type ChangedError struct {
	// Path is the source as planned.
	Path string
	// While says what was being made, e.g. "the image was written".
	While string
	// Reason says what is there now.
	Reason string
}

func (e *ChangedError) Error() string {
	return fmt.Sprintf("%s changed while %s: %s", e.Path, e.While, e.Reason)
}

// beforeOpen, when set, is called with a planned source's path just before
// OpenPlanned opens it: tests replace the file there, between a plan and
// its open, to play the race a plan must survive.
var beforeOpen func(path string)

// SetBeforeOpen sets a function that OpenPlanned calls with each source's
// path just before it opens it, and returns a function that removes it.
// It is for tests, which swap a file there.
func SetBeforeOpen(f func(path string)) (restore func()) {
	old := beforeOpen
	beforeOpen = f
	return func() { beforeOpen = old }
}

// Opening calls the function SetBeforeOpen set, if any, with path: a
// reader of a planned file that does not open it with OpenPlanned calls it
// just before its own open, so that tests can swap the file there too.
func Opening(path string) {
	if beforeOpen != nil {
		beforeOpen(path)
	}
}

// Beneath opens planned sources below their roots, keeping the last root
// open for the next source below it (a layer's files share one). The zero
// Beneath is ready; Close closes the root it holds.
type Beneath struct {
	root string
	fd   int // of root, valid while root != ""
}

// OpenPlanned opens the regular file name for reading, non-blocking, as a
// plan found it: below the directory root, following no symbolic link on
// the way, neither in root's own path (absolute, its links resolved by the
// plan) nor below it (openat2 with RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS, or
// one component at a time with O_NOFOLLOW where the kernel lacks openat2).
// The file opened must be id, the device and inode the plan saw. A link
// met on the way, another file or one of another type is a *ChangedError.
// A root of "" opens name as it is, links followed: a file the caller made
// itself, still checked against id.
func OpenPlanned(root, name string, id ID) (int, error) {
	var b Beneath
	defer b.Close()
	return b.Open(root, name, id)
}

// OpenPlannedFile is OpenPlanned returning an *os.File.
func OpenPlannedFile(root, name string, id ID) (*os.File, error) {
	fd, err := OpenPlanned(root, name, id)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}

// Open is OpenPlanned.
func (b *Beneath) Open(root, name string, id ID) (int, error) {
	if id == (ID{}) {
		return -1, fmt.Errorf("opening %s: no planned device and inode to check it against", name)
	}
	Opening(name)
	var fd int
	var err error
	if root == "" {
		fd, err = retry(func() (int, error) {
			return unix.Open(name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
		})
	} else {
		var rel string
		if rel, err = below(root, name); err != nil {
			return -1, err
		}
		var dir int
		if dir, err = b.rootFD(root); err != nil {
			return -1, changedOr(name, err)
		}
		fd, err = openBeneath(dir, rel, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK)
	}
	if err != nil {
		return -1, changedOr(name, &fs.PathError{Op: "open", Path: name, Err: err})
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	got := ID{Dev: uint64(st.Dev), Ino: st.Ino}
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		unix.Close(fd)
		return -1, &ChangedError{Path: name, While: "the image was written", Reason: "it is now " + Of(ModeOf(st.Mode)) + ", not the regular file planned"}
	case got != id:
		unix.Close(fd)
		return -1, &ChangedError{Path: name, While: "the image was written", Reason: fmt.Sprintf("it is now another file (%s; planned %s)", got, id)}
	}
	return fd, nil
}

// Close closes the root b holds open.
func (b *Beneath) Close() {
	if b.root != "" {
		unix.Close(b.fd)
		b.root = ""
	}
}

// rootFD returns a descriptor of the directory root, opened following no
// link.
func (b *Beneath) rootFD(root string) (int, error) {
	if b.root == root {
		return b.fd, nil
	}
	b.Close()
	fd, err := openBeneath(unix.AT_FDCWD, root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != nil {
		return -1, &fs.PathError{Op: "open", Path: root, Err: err}
	}
	b.root, b.fd = root, fd
	return fd, nil
}

// below returns name relative to root, which must hold it.
func below(root, name string) (string, error) {
	rel, ok := strings.CutPrefix(name, strings.TrimSuffix(root, "/")+"/")
	if !ok || rel == "" || !filepath.IsLocal(rel) || filepath.Clean(rel) != rel {
		return "", fmt.Errorf("opening %s: it is not a clean path below its planned root %s", name, root)
	}
	return rel, nil
}

// openat2Missing is set once openat2 is found missing (ENOSYS).
var openat2Missing atomic.Bool

// openBeneath opens name below dirfd (an absolute name from "/" when
// dirfd is AT_FDCWD) with flags, following no symbolic link and never
// leaving dirfd: openat2, or a walk of O_NOFOLLOW opens.
func openBeneath(dirfd int, name string, flags int) (int, error) {
	resolve := uint64(unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS)
	if dirfd != unix.AT_FDCWD {
		resolve |= unix.RESOLVE_BENEATH
	}
	if !openat2Missing.Load() {
		fd, err := retry(func() (int, error) {
			return unix.Openat2(dirfd, name, &unix.OpenHow{Flags: uint64(flags), Resolve: resolve})
		})
		if !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EPERM) {
			return fd, err
		}
		if errors.Is(err, unix.ENOSYS) {
			openat2Missing.Store(true)
		}
	}
	return walkNoFollow(dirfd, name, flags)
}

// walkNoFollow opens name one component at a time, each with O_NOFOLLOW:
// what openat2 with RESOLVE_NO_SYMLINKS does, on kernels without it.
func walkNoFollow(dirfd int, name string, flags int) (int, error) {
	parts := strings.Split(name, "/")
	start := dirfd
	if strings.HasPrefix(name, "/") {
		parts = parts[1:]
		if dirfd == unix.AT_FDCWD {
			name = "/"
		}
	} else if dirfd == unix.AT_FDCWD {
		name = "."
	}
	fd := -1
	if dirfd == unix.AT_FDCWD {
		var err error
		if fd, err = retry(func() (int, error) { return unix.Open(name, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0) }); err != nil {
			return -1, err
		}
		start = fd
	}
	for i, p := range parts {
		if p == "" || p == "." || p == ".." {
			if fd >= 0 {
				unix.Close(fd)
			}
			return -1, unix.EXDEV
		}
		f := unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
		if i == len(parts)-1 {
			f = flags | unix.O_NOFOLLOW
		}
		next, err := retry(func() (int, error) { return unix.Openat(start, p, f, 0) })
		if fd >= 0 {
			unix.Close(fd)
		}
		if err != nil {
			return -1, err
		}
		fd, start = next, next
	}
	return fd, nil
}

// changedOr returns err as a *ChangedError when it says that a link was
// met (ELOOP), that a path left its root (EXDEV), or that a directory on
// the way is not one any more (ENOTDIR): what a swap leaves.
func changedOr(name string, err error) error {
	switch {
	case errors.Is(err, unix.ELOOP):
		return &ChangedError{Path: name, While: "the image was written", Reason: "it, or a directory above it, is now a symbolic link, which bunix does not follow"}
	case errors.Is(err, unix.EXDEV):
		return &ChangedError{Path: name, While: "the image was written", Reason: "it now resolves outside the directory planned"}
	case errors.Is(err, unix.ENOTDIR):
		return &ChangedError{Path: name, While: "the image was written", Reason: "a directory above it is not a directory any more"}
	}
	return err
}

// ModeOf converts the file type bits of a Unix mode (stat's st_mode) to
// an fs.FileMode's.
func ModeOf(m uint32) fs.FileMode {
	switch m & unix.S_IFMT {
	case unix.S_IFDIR:
		return fs.ModeDir
	case unix.S_IFLNK:
		return fs.ModeSymlink
	case unix.S_IFIFO:
		return fs.ModeNamedPipe
	case unix.S_IFSOCK:
		return fs.ModeSocket
	case unix.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		return fs.ModeDevice
	}
	return 0
}

// retry calls f again while it is interrupted by a signal.
func retry(f func() (int, error)) (int, error) {
	for {
		n, err := f()
		if !errors.Is(err, unix.EINTR) {
			return n, err
		}
	}
}

// OpenDir opens the directory at the absolute path dir for reading its
// entries, following no symbolic link on the way (as OpenPlanned opens a
// root): a walk that starts there sees the tree a plan resolved, not one
// a link swapped in since.
func OpenDir(dir string) (*os.File, error) {
	fd, err := openBeneath(unix.AT_FDCWD, dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	return os.NewFile(uintptr(fd), dir), nil
}

// OpenSubdir opens the directory name in d, which a listing of d showed
// as id, following no link: a directory replaced since the listing (by a
// link or anything else) is a *ChangedError, with path its path.
func OpenSubdir(d *os.File, name, path string, id ID) (*os.File, error) {
	fd, err := retry(func() (int, error) {
		return unix.Openat(int(d.Fd()), name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	})
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
		return nil, &ChangedError{Path: path, While: "its files were listed", Reason: "it is not a directory any more"}
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if got := IDOf(fi); got != id {
		f.Close()
		return nil, &ChangedError{Path: path, While: "its files were listed", Reason: fmt.Sprintf("it is now another directory (%s; listed %s)", got, id)}
	}
	return f, nil
}
