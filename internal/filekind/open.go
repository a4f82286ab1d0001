package filekind

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// NotRegularError is a file that is not a regular file where one was
// wanted.
type NotRegularError struct {
	Path string
	Mode fs.FileMode
}

func (e *NotRegularError) Error() string {
	return e.Path + " is " + Of(e.Mode) + ", not a regular file"
}

// ErrTooLarge is wrapped by ReadRegular's error for a file over its cap.
var ErrTooLarge = errors.New("file too large")

// OpenRegular opens path for reading if it is a regular file. The type is
// checked before the open, so that a device is never opened, and again on
// the open file, which is opened non-blocking so that a FIFO swapped in
// between cannot block either. Another type is a *NotRegularError; other
// errors are those of os.Stat and os.OpenFile.
func OpenRegular(path string) (*os.File, fs.FileInfo, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, &NotRegularError{path, fi.Mode()}
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	if fi, err = f.Stat(); err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, &NotRegularError{path, fi.Mode()}
	}
	return f, fi, nil
}

// ReadRegular reads the regular file at path (OpenRegular) whole, at most
// max bytes: a larger file is an error wrapping ErrTooLarge, found
// without reading more than max+1 bytes.
func ReadRegular(path string, max int64) ([]byte, error) {
	f, _, err := OpenRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, &fs.PathError{Op: "read", Path: path, Err: ErrTooLarge}
	}
	return data, nil
}
