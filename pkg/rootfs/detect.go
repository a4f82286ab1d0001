package rootfs

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/nubificus/bunix/internal/filekind"
)

// Kind is the format of a root file system file.
type Kind int

// The kinds Detect tells apart.
const (
	CPIO     Kind = iota + 1 // a newc cpio archive (070701, or 070702 with checksums)
	GzipCPIO                 // a gzip-compressed newc cpio archive
	Ext2
	Ext3 // ext2 with a journal
	Ext4 // with extents, 64-bit block numbers or flexible block groups
)

func (k Kind) String() string {
	switch k {
	case CPIO:
		return "cpio"
	case GzipCPIO:
		return "gzip-compressed cpio"
	case Ext2:
		return "ext2"
	case Ext3:
		return "ext3"
	case Ext4:
		return "ext4"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// IsInitrd reports whether k is an initrd format.
func (k Kind) IsInitrd() bool { return k == CPIO || k == GzipCPIO }

var (
	cpioMagics = [][]byte{[]byte("070701"), []byte("070702")}
	gzipMagic  = []byte{0x1f, 0x8b}
)

// Detect reads the start of the file at path and tells its kind: a cpio
// archive by its magic, a gzip stream that begins with one, or an ext file
// system by the superblock magic 0xEF53 at byte 1080 and its feature flags.
// Anything else is an error that says what the file starts with.
//
// It opens path without blocking and reads only a regular file, so a FIFO
// or a device there is an error, not a hang.
func Detect(path string) (Kind, error) {
	f, _, err := filekind.OpenRegular(path)
	if nr := (*filekind.NotRegularError)(nil); errors.As(err, &nr) {
		return 0, fmt.Errorf("%s is not a regular file (it is %s), so not a rootfs file", path, filekind.Of(nr.Mode))
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return detect(f, path)
}

// detect tells the kind of the rootfs file f, named path in messages.
func detect(f io.ReadSeeker, path string) (Kind, error) {
	head := make([]byte, 2048)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("reading %s: %w", path, err)
	}
	head = head[:n]
	for _, m := range cpioMagics {
		if bytes.HasPrefix(head, m) {
			return CPIO, nil
		}
	}
	if bytes.HasPrefix(head, gzipMagic) {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return 0, fmt.Errorf("reading %s: %w", path, err)
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			return 0, fmt.Errorf("%s is not a valid gzip stream: %w", path, err)
		}
		inner := make([]byte, 6)
		if _, err := io.ReadFull(zr, inner); err != nil {
			return 0, fmt.Errorf("%s: reading its gzip-compressed content: %w", path, err)
		}
		for _, m := range cpioMagics {
			if bytes.Equal(inner, m) {
				return GzipCPIO, nil
			}
		}
		return 0, fmt.Errorf("%s is gzip-compressed, but not a cpio archive (it starts with %q once decompressed, not 070701)", path, inner)
	}
	if len(head) >= extMagicOffset+2 && binary.LittleEndian.Uint16(head[extMagicOffset:]) == extMagic {
		if len(head) < superblockOffset+superblockSize {
			return 0, fmt.Errorf("%s has the ext magic 0xEF53 but ends at byte %d, inside its superblock: it is cut short", path, len(head))
		}
		sb := head[superblockOffset:]
		compat, incompat := binary.LittleEndian.Uint32(sb[92:]), binary.LittleEndian.Uint32(sb[96:])
		size, err := f.Seek(0, io.SeekEnd)
		if err != nil {
			return 0, fmt.Errorf("reading %s: %w", path, err)
		}
		if p := superblockProblem(sb, incompat, size); p != "" {
			return 0, fmt.Errorf("%s has the ext magic 0xEF53, but its superblock %s, so no guest could mount it", path, p)
		}
		switch {
		case incompat&(incompatExtents|incompat64bit|incompatFlexBG) != 0:
			return Ext4, nil
		case compat&compatHasJournal != 0:
			return Ext3, nil
		}
		return Ext2, nil
	}
	return 0, fmt.Errorf("%s is neither a cpio archive (magic 070701), a gzip-compressed one, nor an ext2/3/4 image (magic 0xEF53 at byte 1080): it starts with %q", path, head[:min(len(head), 8)])
}

// superblockSize is the size of an ext superblock, all of which detect
// reads.
const superblockSize = 1024

// superblockProblem says what makes sb, the superblock of an ext file
// system of size bytes with the incompat features given, impossible, or
// "": a file that has the magic and no more (zeros) is not a file system
// the kernel mounts, and a file system cut short fails only once the
// guest reads past its end.
func superblockProblem(sb []byte, incompat uint32, size int64) string {
	le := binary.LittleEndian
	inodes, logBlock, rev := le.Uint32(sb[0:]), le.Uint32(sb[24:]), le.Uint32(sb[76:])
	blocks := uint64(le.Uint32(sb[4:]))
	if incompat&incompat64bit != 0 {
		blocks |= uint64(le.Uint32(sb[0x150:])) << 32
	}
	switch {
	case rev > 1:
		return fmt.Sprintf("has revision %d (s_rev_level), where ext has 0 and 1", rev)
	case logBlock > 6:
		return fmt.Sprintf("has a block size of 2^(10+%d) bytes (s_log_block_size %d), where ext takes 1 KiB to 64 KiB", logBlock, logBlock)
	case inodes == 0:
		return "counts 0 inodes"
	case blocks == 0:
		return "counts 0 blocks"
	}
	bs := uint64(1024) << logBlock
	if blocks > uint64(size)/bs {
		return fmt.Sprintf("counts %d blocks of %d bytes, more than the file's %d bytes hold (is it cut short?)", blocks, bs, size)
	}
	return ""
}
