package image

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/nubificus/bunix/pkg/output"
)

// layoutTemp is the directory an OCI layout is built in before it is moved
// to its path: .NAME.tmp-PID-N beside it, locked (flock) for as long as
// the writing process lives. A process killed while it writes (SIGKILL,
// which no code sees) leaves it behind; the next write of NAME removes
// it, once its lock is free and its process gone (sweepLayoutTemps).
type layoutTemp struct {
	dir  string
	lock *os.File
}

// newLayoutTemp sweeps the temporary directories that killed writes of
// path left, then makes and locks one of its own.
func newLayoutTemp(path string) (*layoutTemp, error) {
	parent, pattern := output.TempBeside(path)
	sweepLayoutTemps(parent, pattern)
	dir, err := os.MkdirTemp(parent, strings.Replace(pattern, "*", strconv.Itoa(os.Getpid())+"-*", 1))
	if err != nil {
		return nil, err
	}
	lock, err := lockDir(dir, unix.LOCK_EX)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &layoutTemp{dir: dir, lock: lock}, nil
}

// remove removes the directory, then lets its lock go.
func (t *layoutTemp) remove() error {
	err := os.RemoveAll(t.dir)
	t.lock.Close()
	return err
}

// release lets the lock go, once the directory has been moved into place
// (or swapped with the old layout and removed).
func (t *layoutTemp) release() { t.lock.Close() }

// lockDir opens dir, following no link, and takes an flock on it: how,
// with LOCK_NB added or not.
func lockDir(dir string, how int) (*os.File, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	f := os.NewFile(uintptr(fd), dir)
	for {
		err = unix.Flock(fd, how)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, &os.PathError{Op: "flock", Path: dir, Err: err}
	}
	return f, nil
}

// sweepLayoutTemps removes each directory in parent named after pattern
// (".NAME.tmp-*") and a process id, .NAME.tmp-PID-N, that no running
// bunix writes: its process is gone and nothing holds its lock. What
// cannot be removed stays, and costs the write nothing.
func sweepLayoutTemps(parent, pattern string) {
	prefix := strings.TrimSuffix(pattern, "*")
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		pid, ok := tempOwner(e.Name(), prefix)
		if !ok || !e.IsDir() || processAlive(pid) {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		lock, err := lockDir(dir, unix.LOCK_EX|unix.LOCK_NB)
		if err != nil {
			continue // a live writer in another PID namespace, or not ours to open
		}
		os.RemoveAll(dir)
		lock.Close()
	}
}

// tempOwner returns the process id in name, prefix + PID-N, if it is one.
func tempOwner(name, prefix string) (int, bool) {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return 0, false
	}
	p, n, ok := strings.Cut(rest, "-")
	if !ok || !allDigits(p) || !allDigits(n) {
		return 0, false
	}
	pid, err := strconv.Atoi(p)
	return pid, err == nil && pid > 0
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// processAlive reports whether a process pid exists (as far as this PID
// namespace sees).
func processAlive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}
