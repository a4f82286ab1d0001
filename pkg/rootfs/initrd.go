package rootfs

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/nubificus/bunix/pkg/image"
	"github.com/u-root/u-root/pkg/cpio"
)

// InitrdOptions configure WriteInitrd.
type InitrdOptions struct {
	// MTime is every entry's modification time.
	MTime time.Time
	// Gzip compresses the archive with gzip (no name, no time in the
	// header), which Linux and Unikraft unpack.
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
	if !o.Gzip {
		return writeCPIO(w, tree, o.MTime)
	}
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return fmt.Errorf("writing the initrd: %w", err)
	}
	if err := writeCPIO(zw, tree, o.MTime); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("writing the initrd: %w", err)
	}
	return nil
}

func writeCPIO(w io.Writer, tree []image.Entry, mtime time.Time) error {
	cw := cpio.Newc.Writer(w)
	for i, e := range tree {
		info := cpio.Info{
			Ino:   uint64(i + 1),
			Mode:  uint64(mode(e)),
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
// cpio writer closes it when it has copied it.
type lazyFile struct {
	entry image.Entry
	f     *os.File
}

func (l *lazyFile) ReadAt(p []byte, off int64) (int, error) {
	if l.f == nil {
		f, err := os.Open(l.entry.Source)
		if err != nil {
			return 0, fmt.Errorf("reading %s for %s: %w", l.entry.Source, l.entry.Path, err)
		}
		l.f = f
	}
	return l.f.ReadAt(p, off)
}

func (l *lazyFile) Close() error {
	if l.f == nil {
		return nil
	}
	return l.f.Close()
}
