// Package filekind names the type of a file in messages, so that every
// reader that refuses a FIFO, a device or a directory says it the same way.
package filekind

import "io/fs"

// Of names the type of a file of mode m, with its article: "a regular
// file", "a directory", "a symbolic link", "a named pipe (FIFO)", "a
// socket", "a character device", "a block device", else "a special file".
func Of(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "a special file"
}
