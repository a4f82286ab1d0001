// Package output writes an output file so that it appears only once
// complete and never replaces what bunix did not make: WriteFile checks
// what is at the path (Check: nothing or a regular file is replaced, a
// device or FIFO written through, a directory, a symlink to a file or a
// write-protected file refused with an *Error), writes to an unnamed file
// beside it (O_TMPFILE, or a hidden name removed on every way out), syncs
// it and renames it into place (linkat, rename). TempFile is the scratch file of the same
// plumbing, which leaves nothing behind however the process ends. It is
// Linux file plumbing, not image code: pkg/image and pkg/build write
// through it.
package output

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// WriteFile calls write with a file that becomes path only once write has
// succeeded, so that path is either the complete new output or, on any
// failure, exactly what it was before.
//
// What is at path decides how:
//   - nothing, or a regular file: the bytes go to an unnamed file in the
//     directory of path (O_TMPFILE, or where the file system lacks it, a
//     hidden temporary name removed on every way out), which is synced
//     and then renamed to path; it gets mode 0644;
//   - a device, a FIFO or a socket, or a symlink to one (/dev/null,
//     /dev/stdout on a pipe): the bytes are written through it, with no
//     rename;
//   - a directory, a symlink to a regular file or a directory, or a
//     regular file that may not be written (no write bit, or not
//     writable by this user): refused, before anything is written.
//     WriteFile does not guess which file a link was meant to replace (a
//     Nix result link points into the read-only store).
//
// WriteFile is WriteFileContext with a context that is never done.
func WriteFile(path string, write func(io.Writer) error) error {
	return WriteFileContext(context.Background(), path, write)
}

// WriteFileContext is WriteFile that gives up once ctx is done, with
// context.Cause(ctx) as its error, leaving path as it was.
func WriteFileContext(ctx context.Context, path string, write func(io.Writer) error, opts ...Option) error {
	o := &options{}
	for _, opt := range opts {
		opt(o)
	}
	kind, err := Check(path)
	if err != nil {
		return err
	}
	if kind == Device {
		return writeThrough(ctx, path, write)
	}
	return writeReplace(ctx, path, write, !o.noSync)
}

// Option is an option of WriteFileContext.
type Option func(*options)

type options struct {
	noSync bool
}

// WithoutSync has WriteFileContext rename its output into place without
// syncing it to disk first: for a Nix builder, whose output Nix registers
// without syncing it either, so that a sync would only make the build wait
// for the disk. The output still appears only once complete.
func WithoutSync() Option {
	return func(o *options) { o.noSync = true }
}

// Kind is how WriteFile treats what is at a path.
type Kind int

// How WriteFile treats what is at a path.
const (
	// File: nothing is there, or a regular file, which is replaced.
	File Kind = iota
	// Device: a device, FIFO or socket, written through.
	Device
)

// Error is an output path that bunix refuses to write, for what is there
// (Check, image.CheckLayoutOutput) or for what the build reads there
// (pkg/build): a user error.
type Error struct {
	// Path is the output as given.
	Path string
	// Reason says what is there and what to do, e.g. "is a directory:
	// give the output a file name, e.g. out/image.tar".
	Reason string
	// Suggested is the path Reason suggests instead, if any: a caller
	// that refuses more paths than Check (pkg/build: a source) checks it.
	Suggested string
}

func (e *Error) Error() string { return fmt.Sprintf("output %s: %s", e.Path, e.Reason) }

// Refuse returns an *Error about path, its Reason formatted as fmt.Sprintf
// does.
func Refuse(path, format string, args ...any) error {
	return &Error{Path: path, Reason: fmt.Sprintf(format, args...)}
}

// Check says how WriteFile would treat path, or why it refuses it: an
// *Error, unless path is empty or cannot be checked.
func Check(path string) (Kind, error) {
	if path == "" {
		return 0, fmt.Errorf("no output path given")
	}
	if strings.HasSuffix(path, "/") || filepath.Base(path) == "." || filepath.Base(path) == ".." {
		return 0, Refuse(path, "names a directory: give the output a file name")
	}
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return File, nil
	}
	if err != nil {
		return 0, fmt.Errorf("checking the output %s: %w", path, err)
	}
	link := fi.Mode()&fs.ModeSymlink != 0
	if link {
		if fi, err = os.Stat(path); err != nil {
			target, _ := os.Readlink(path)
			return 0, Refuse(path, "is a symlink to %s, which cannot be reached (%v): remove the link or give another path", target, unwrapPath(err))
		}
	}
	switch m := fi.Mode(); {
	case m.IsDir():
		suggested := filepath.Join(path, "image.tar")
		return 0, &Error{Path: path, Reason: "is a directory: give the output a file name, e.g. " + suggested, Suggested: suggested}
	case m.IsRegular() && link:
		target, _ := os.Readlink(path)
		return 0, Refuse(path, "is a symlink to the file %s: bunix does not replace a file through a link; remove the link, or give the target's path (or - for standard output)", target)
	case m.IsRegular() && (m.Perm()&0o222 == 0 || errors.Is(unix.Access(path, unix.W_OK), unix.EACCES)):
		// A rename would replace it all the same, but write-protection is
		// how a user says "keep this" (rm asks, cp refuses): so does bunix.
		return 0, Refuse(path, "is write-protected (mode %04o): bunix does not replace a file it may not write; make it writable (chmod u+w) or give another path", m.Perm())
	case m.IsRegular():
		return File, nil
	}
	return Device, nil
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

// writeThrough writes to a device, FIFO or socket in place. Opening a FIFO
// waits for a reader; ctx ends the wait.
func writeThrough(ctx context.Context, path string, write func(io.Writer) error) error {
	type opened struct {
		f   *os.File
		err error
	}
	ch := make(chan opened, 1)
	go func() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		ch <- opened{f, err}
	}()
	var o opened
	select {
	case o = <-ch:
	case <-ctx.Done():
		// The open goes on alone; its file is closed should it succeed.
		go func() {
			if o := <-ch; o.f != nil {
				o.f.Close()
			}
		}()
		return context.Cause(ctx)
	}
	if o.err != nil {
		return fmt.Errorf("opening the output %s: %w", path, o.err)
	}
	err := write(o.f)
	if cerr := o.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("writing %s: %w", path, cerr)
	}
	return err
}

// writeReplace writes to an unnamed file beside path and renames it to
// path once synced (when sync is set; the disk writes start while write
// runs, Writeback).
func writeReplace(ctx context.Context, path string, write func(io.Writer) error, sync bool) (err error) {
	dir, pattern := TempBeside(path)
	f, named, err := createTemp(dir, pattern)
	if err != nil {
		return fmt.Errorf("creating a temporary file for %s: %w", path, err)
	}
	wb := &Writeback{}
	if sync {
		wb = StartWriteback(f)
	}
	defer func() {
		wb.Stop()
		if err != nil {
			f.Close()
			if named != "" {
				os.Remove(named)
			}
		}
	}()
	if err := write(f); err != nil {
		return err
	}
	wb.Stop()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
	}
	if named == "" {
		// Give the unnamed file a name beside path, then move it there:
		// linkat cannot replace a file.
		if named, err = linkTemp(f, dir, pattern); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(named, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if sync {
		syncDir(dir)
	}
	return nil
}

// createTemp returns an unnamed file in dir (O_TMPFILE) and "", or, where
// dir's file system has no unnamed files, a new file named after pattern
// and its name, for the caller to remove.
func createTemp(dir, pattern string) (*os.File, string, error) {
	f, err := openUnnamed(dir)
	if err == nil {
		return f, "", nil
	}
	f, err = os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, "", err
	}
	return f, f.Name(), nil
}

// TempFile is a scratch file that leaves nothing behind: a compressed
// layer waiting for its archive entry, a rootfs waiting for its layer, an
// image read from a stream.
type TempFile struct {
	*os.File
	// Path opens the file again while it is open: /proc/self/fd/N; where
	// /proc is not mounted, the file's name for CreateTempPath's files and
	// "" for CreateTemp's.
	Path string
	// named is the name Close removes, if the file kept one.
	named string
}

// CreateTemp creates a TempFile in dir ("" for os.TempDir) for reading and
// writing, with no name: an unnamed file (O_TMPFILE) where the kernel and
// file system allow it, else a file named after pattern (as os.CreateTemp
// names it) and unlinked at once. Either way it goes with its descriptor,
// however the process ends.
func CreateTemp(dir, pattern string) (*TempFile, error) {
	return createTempFile(dir, pattern, false)
}

// CreateTempPath is CreateTemp for a file that must be opened again by
// Path (a rootfs that a writer reopens): where /proc is not mounted, so
// that an unlinked file could not be, it keeps its name until Close, and a
// killed process leaves it behind.
func CreateTempPath(dir, pattern string) (*TempFile, error) {
	return createTempFile(dir, pattern, true)
}

func createTempFile(dir, pattern string, reopen bool) (*TempFile, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	f, named, err := createTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	t := &TempFile{File: f, Path: ProcPath(f)}
	if named == "" {
		return t, nil
	}
	if _, err := statProc(t.Path); err == nil || !reopen {
		os.Remove(named)
		if err != nil {
			t.Path = ""
		}
		return t, nil
	}
	t.Path, t.named = named, named
	return t, nil
}

// Close closes the file, and removes its name if it kept one.
func (t *TempFile) Close() error {
	err := t.File.Close()
	if t.named != "" {
		os.Remove(t.named)
	}
	return err
}

// statProc is os.Stat, for /proc/self/fd/N; tests replace it to act as a
// system without /proc.
var statProc = os.Stat

// openUnnamed is OpenTmpfile; tests replace it to act as a file system
// without O_TMPFILE.
var openUnnamed = OpenTmpfile

// OpenTmpfile opens an unnamed regular file in dir for reading and writing
// (O_TMPFILE): it leaves nothing behind however the process ends. It fails
// where the file system or kernel lacks O_TMPFILE, or /proc is not mounted
// (the file is named by /proc/self/fd/N, see ProcPath).
func OpenTmpfile(dir string) (*os.File, error) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		return nil, err
	}
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, &fs.PathError{Op: "open O_TMPFILE", Path: dir, Err: err}
	}
	return os.NewFile(uintptr(fd), filepath.Join(dir, "(unnamed)")), nil
}

// ProcPath is a path that opens f again, even once f has no name:
// /proc/self/fd/N.
func ProcPath(f *os.File) string {
	return "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
}

// linkTemp gives the unnamed file f a new name in dir after pattern and
// returns it.
func linkTemp(f *os.File, dir, pattern string) (string, error) {
	for range 100 {
		name := filepath.Join(dir, strings.Replace(pattern, "*", strconv.FormatUint(uint64(rand.Uint32()), 10), 1))
		err := unix.Linkat(unix.AT_FDCWD, ProcPath(f), unix.AT_FDCWD, name, unix.AT_SYMLINK_FOLLOW)
		if err == nil {
			return name, nil
		}
		if !errors.Is(err, unix.EEXIST) {
			return "", &fs.PathError{Op: "link", Path: name, Err: err}
		}
	}
	return "", fmt.Errorf("no free temporary name in %s", dir)
}

// syncDir makes a rename in dir durable; a failure only costs durability.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// TempBeside returns the directory of path and a pattern for a temporary
// name there: the arguments of os.CreateTemp and os.MkdirTemp for an output
// that is renamed to path once complete.
func TempBeside(path string) (dir, pattern string) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	return dir, "." + base + ".tmp-*"
}
