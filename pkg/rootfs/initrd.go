package rootfs

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/nubificus/bunix/internal/countio"
	"github.com/nubificus/bunix/pkg/image"
	"github.com/u-root/u-root/pkg/cpio"
)

// InitrdOptions configure WriteInitrd.
type InitrdOptions struct {
	// MTime is every entry's modification time.
	MTime time.Time
	// Gzip compresses the archive with gzip (no name, no time in the
	// header), which Linux unpacks, and pads the stream with zero bytes
	// to a multiple of 4, where Linux looks for a segment appended to it.
	Gzip bool
}

// WriteInitrd writes tree, as Tree returns it, to w as a newc cpio archive,
// the format of Linux's initramfs and of Unikraft's initrd. Entries keep
// tree's order, named without the leading "/"; every one is owned by 0:0,
// has mode as in the image layers, mtime o.MTime, inode number 1, 2, ... in
// archive order and device numbers 0; symlinks stay symlinks. Each regular
// file is read from disk while it is written, and must still have the size
// its entry says.
func WriteInitrd(w io.Writer, tree []image.Entry, o InitrdOptions) error {
	if err := CheckInitrd(tree, o.MTime); err != nil {
		return err
	}
	if !o.Gzip {
		return writeCPIO(w, tree, o.MTime)
	}
	cw := &countio.Writer{W: w}
	zw, err := gzip.NewWriterLevel(cw, gzip.BestCompression)
	if err != nil {
		return fmt.Errorf("writing the initrd: %w", err)
	}
	if err := writeCPIO(zw, tree, o.MTime); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("writing the initrd: %w", err)
	}
	// urunc appends newc segments to the initrd; Linux unpacks a segment
	// after a compressed one only from a 4-byte boundary, skipping zero
	// bytes up to it.
	if pad := (4 - cw.N%4) % 4; pad > 0 {
		if _, err := cw.Write(make([]byte, pad)); err != nil {
			return fmt.Errorf("writing the initrd: %w", err)
		}
	}
	return nil
}

// The limits of a newc archive as Linux unpacks it: every number is eight
// hex digits, and init/initramfs.c skips a name or symlink longer than
// PATH_MAX.
const (
	// maxCPIONameLen is the longest name, without the leading "/": with
	// its NUL it is at most PATH_MAX (4096).
	maxCPIONameLen = 4095
	// maxCPIOLinkLen is the longest symlink target symlink(2) makes.
	maxCPIOLinkLen = 4095
	// maxCPIONumber is the largest size, inode number and time.
	maxCPIONumber = 1<<32 - 1
)

// CheckInitrd reports, as a *LimitError naming the path, the first entry of
// tree that a newc archive cannot hold the way Linux unpacks it: a name
// over 4095 bytes or with a NUL, an empty or too long symlink target, a
// file of 4 GiB or more. It also refuses more entries than inode numbers
// count and an mtime outside 1970 to 2106; the zero Time is 1970.
func CheckInitrd(tree []image.Entry, mtime time.Time) error {
	if t := mtime.Unix(); !mtime.IsZero() && (t < 0 || t > maxCPIONumber) {
		return fmt.Errorf("planning the initrd: time %s is outside what its 32-bit times hold (1970 to 2106)", mtime.UTC().Format(time.RFC3339))
	}
	if uint64(len(tree)) > maxCPIONumber {
		return fmt.Errorf("planning the initrd: %d entries is more than its 32-bit inode numbers count", len(tree))
	}
	for _, e := range tree {
		if err := cpioLimits.check(e); err != nil {
			return err
		}
	}
	return nil
}

// cpioLimits are the limits of a newc archive on one entry.
var cpioLimits = entryLimits{
	name:      func(p string) string { return strings.TrimPrefix(p, "/") },
	maxName:   maxCPIONameLen,
	nameLong:  "the path is %d bytes: Linux unpacks no initrd name over %d",
	nameNUL:   "the path holds a NUL byte, which ends a name in an initrd",
	maxLink:   maxCPIOLinkLen,
	linkEmpty: "the symlink's target is empty, which Linux cannot make",
	linkLong:  "the symlink's target is %d bytes: Linux makes none over %d",
	linkNUL:   "the symlink's target holds a NUL byte, which no symlink can",
	maxSize:   maxCPIONumber,
	sizeLong:  "the file is %d bytes: a newc cpio archive holds files of at most %d (4 GiB less one)",
}

func writeCPIO(w io.Writer, tree []image.Entry, mtime time.Time) error {
	cw := cpio.Newc.Writer(w)
	for i, e := range tree {
		info := cpio.Info{
			Ino:   uint64(i + 1),
			Mode:  uint64(e.Mode()),
			NLink: 1,
			MTime: uint64(mtime.Unix()),
			Name:  strings.TrimPrefix(e.Path, "/"),
		}
		rec := cpio.Record{Info: info}
		switch e.Type {
		case image.Directory:
			rec.Info.NLink = 2
		case image.Symlink:
			rec.Info.FileSize = uint64(len(e.Linkname))
			rec.ReaderAt = strings.NewReader(e.Linkname)
		case image.Regular:
			rec.Info.FileSize = uint64(e.Size)
			rec.ReaderAt = &lazyFile{entry: e}
			if e.Source == "" {
				rec.Info.FileSize = uint64(len(e.Data))
				rec.ReaderAt = bytes.NewReader(e.Data)
			}
		}
		if err := cw.WriteRecord(rec); err != nil {
			return fmt.Errorf("writing %s to the initrd: %w", e.Path, err)
		}
	}
	if err := cw.WriteRecord(cpio.TrailerRecord); err != nil {
		return fmt.Errorf("writing the initrd trailer: %w", err)
	}
	return nil
}

// lazyFile is the contents of a regular entry read from disk as an io.ReaderAt that opens the
// source on first read, so that only the file being written is open. The
// cpio writer closes it when it has copied it. The source must still be the
// file planned (image.Entry.Open): a link, a FIFO or another file swapped
// in is an error, not a hang or a host file in the initrd.
type lazyFile struct {
	entry image.Entry
	f     *os.File
}

func (l *lazyFile) ReadAt(p []byte, off int64) (int, error) {
	if l.f == nil {
		f, err := l.entry.Open()
		if err != nil {
			return 0, fmt.Errorf("reading %s for %s: %w", l.entry.Source, l.entry.Path, err)
		}
		l.f = f
	}
	// The cpio writer reads to EOF: stop it at the planned size, so that
	// a file that grew is reported by Close, not copied whole.
	if off >= l.entry.Size {
		return 0, io.EOF
	}
	if rest := l.entry.Size - off; int64(len(p)) > rest {
		n, err := l.f.ReadAt(p[:rest], off)
		if err == nil {
			err = io.EOF // io.ReaderAt: fewer bytes than asked come with an error
		}
		return n, err
	}
	return l.f.ReadAt(p, off)
}

// Close closes the source, failing if it holds a byte past the planned
// size, with the message the ext and tar writers give; the cpio writer
// would read it to its new end and fail with only "wrote M bytes of file
// instead of N". (One that shrank, the writer finds short itself.)
func (l *lazyFile) Close() error {
	if l.f == nil {
		return nil
	}
	var one [1]byte
	n, err := l.f.ReadAt(one[:], l.entry.Size)
	cerr := l.f.Close()
	switch {
	case n > 0:
		return fmt.Errorf("%s grew past %d bytes while the image was written", l.entry.Source, l.entry.Size)
	case err != nil && !errors.Is(err, io.EOF):
		return fmt.Errorf("reading %s for %s: %w", l.entry.Source, l.entry.Path, err)
	}
	return cerr
}
