package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/nubificus/bunix/internal/ctxio"
	"golang.org/x/sys/unix"
)

// kernelCopy copies n bytes of src, from offset off, to dst at its
// position, in the kernel: copy_file_range when dst is a file (a reflink
// where the file system shares extents), sendfile when it is a pipe or
// anything else sendfile writes to, and a plain read and write only when
// neither works. It stops between pieces of copyPiece bytes once ctx is
// done. It returns how many bytes it copied.
func kernelCopy(ctx context.Context, dst, src *os.File, off, n int64) (int64, error) {
	rc, err := dst.SyscallConn()
	if err != nil {
		return 0, err
	}
	var done int64
	call := unix.CopyFileRange
	for done < n {
		if err := context.Cause(ctx); err != nil {
			return done, err
		}
		piece := int(min(n-done, copyPiece))
		var m int
		var cerr error
		werr := rc.Write(func(fd uintptr) bool {
			pos := off + done
			if call != nil {
				m, cerr = call(int(src.Fd()), &pos, int(fd), nil, piece, 0)
			} else {
				m, cerr = unix.Sendfile(int(fd), int(src.Fd()), &pos, piece)
			}
			return !errors.Is(cerr, unix.EAGAIN)
		})
		if werr != nil {
			return done, werr
		}
		switch {
		case cerr == nil && m == 0:
			return done, fmt.Errorf("copying: %w", io.ErrUnexpectedEOF)
		case cerr == nil:
			done += int64(m)
		case errors.Is(cerr, unix.EINTR):
		case done == 0 && call != nil && unsupported(cerr):
			call = nil // try sendfile
		case done == 0 && unsupported(cerr):
			// Neither: copy through memory.
			if _, err := src.Seek(off, io.SeekStart); err != nil {
				return 0, err
			}
			return ctxio.CopyN(ctx, dst, src, n)
		default:
			return done, cerr
		}
	}
	return done, nil
}

// unsupported reports whether err says the kernel cannot copy between
// these two files.
func unsupported(err error) bool {
	return errors.Is(err, unix.EXDEV) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) ||
		errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EBADF) || errors.Is(err, unix.EPERM)
}

// fileID is what tells, without reading it, whether a file's bytes may
// have changed: its device and inode, its size, and the times of its last
// write and of its last change (which a write, truncate or chmod moves).
type fileID struct {
	dev, ino     uint64
	size         int64
	mtime, ctime unix.Timespec
}

func identify(f *os.File) (fileID, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return fileID{}, err
	}
	return fileID{dev: st.Dev, ino: st.Ino, size: st.Size, mtime: st.Mtim, ctime: st.Ctim}, nil
}

// hashedCopy copies the first n bytes of src to dst with kernelCopy, and
// computes their sha256 beside the copy: another goroutine reads the same
// bytes of src (pread, from the page cache that the copy fills, or fills
// for it) into buf and hashes them, so that on two cores the hash costs no
// wall time. Both cover the same n bytes; that they are the bytes written
// holds as long as src does not change meanwhile, which the caller checks
// (fileID before and after). When ctx is done, or either side fails, both
// stop, and hashedCopy returns once both have. buf is the hasher's only
// memory, whatever n.
func hashedCopy(ctx context.Context, dst, src *os.File, n int64, buf []byte) (int64, v1.Hash, error) {
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	hashed := make(chan error, 1)
	h := sha256.New()
	go func() {
		err := hashFile(ctx, h, src, n, buf[:cap(buf)])
		if err != nil {
			stop(err)
		}
		hashed <- err
	}()
	done, err := kernelCopy(ctx, dst, src, 0, n)
	if err != nil {
		stop(err)
	}
	if herr := <-hashed; err == nil {
		err = herr
	}
	if err == nil && done != n {
		err = fmt.Errorf("copied %d of %d bytes", done, n)
	}
	if err != nil {
		return done, v1.Hash{}, err
	}
	return done, v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}, nil
}

// hashFile writes the first n bytes of f to h, read with pread through
// buf, and stops with context.Cause(ctx) once ctx is done.
func hashFile(ctx context.Context, h hash.Hash, f *os.File, n int64, buf []byte) error {
	for off := int64(0); off < n; {
		if err := context.Cause(ctx); err != nil {
			return err
		}
		m, err := f.ReadAt(buf[:min(int64(len(buf)), n-off)], off)
		h.Write(buf[:m])
		off += int64(m)
		if err == io.EOF && off < n {
			return fmt.Errorf("hashing: the file ends after %d of %d bytes: %w", off, n, io.ErrUnexpectedEOF)
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("hashing: %w", err)
		}
	}
	return nil
}
