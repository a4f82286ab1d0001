package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

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
