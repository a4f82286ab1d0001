package rootfs

import (
	"fmt"
	"time"

	"github.com/nubificus/bunix/internal/msg"
	"github.com/nubificus/bunix/pkg/image"
)

// The ext layout bunix writes: 4 KiB blocks, 32768 blocks per group, no
// journal, sparse superblock backups, linear directories. ext2 uses
// 128-byte inodes and block maps, which every ext2 driver reads (NetBSD's,
// under Rumprun, FreeBSD's); ext4 adds extents and 256-byte inodes.
const (
	blockSize      = 4096
	blocksPerGroup = 8 * blockSize
	groupDescSize  = 32
	firstInode     = 11 // the first inode that is not reserved
	rootInode      = 2
	lostFoundInode = 11
	// inodeRatio is the bytes of file system per inode, as mke2fs's default.
	inodeRatio = 16384
	// minBlocks is the smallest file system PlanExt makes: 1 MiB.
	minBlocks = 256
	// maxBlocks is the most blocks a file system without the 64bit
	// feature has: block numbers are 32 bits, so just under 16 TiB.
	maxBlocks = 1<<32 - 1
	// maxSize is the largest image: its last block may be short.
	maxSize = maxBlocks*blockSize + blockSize - 1
)

// The limits of what the file system holds, which PlanExt checks before
// anything is written.
const (
	// maxNameLen is the longest name of a directory entry, in bytes: its
	// length is one byte.
	maxNameLen = 255
	// maxSymlinkLen is the longest symlink target: a slow symlink's target
	// lies in one block, and Linux's symlink(2) makes none longer than
	// PATH_MAX-1.
	maxSymlinkLen = blockSize - 1
	// maxLinks is the most links an inode has without the dir_nlink
	// feature (EXT2_LINK_MAX, EXT4_LINK_MAX): a directory's are 2 plus
	// one per subdirectory.
	maxLinks = 65000
	// maxDirBlocks bounds a directory below 2 GiB, the most a directory
	// is without the large_dir feature.
	maxDirBlocks = 1<<31/blockSize - 1
	// maxSectors is the most 512-byte sectors i_blocks counts without the
	// huge_file feature: a file's data and mapping blocks together.
	maxSectors = 1<<32 - 1
	// maxExtentLeaves is the most leaf blocks the writer's extent tree
	// has: it is one level deep, with the four indexes of i_block.
	maxExtentLeaves = 4
)

// Superblock and inode constants, from the ext4 disk layout.
const (
	extMagic              = 0xEF53
	extMagicOffset        = 1080 // from the start of the device
	superblockOffset      = 1024
	compatNone            = 0
	incompatFiletype      = 0x0002
	incompatExtents       = 0x0040
	incompat64bit         = 0x0080
	incompatFlexBG        = 0x0200
	compatHasJournal      = 0x0004
	roCompatSparseSuper   = 0x0001
	roCompatLargeFile     = 0x0002
	roCompatExtraIsize    = 0x0040
	inodeFlagExtents      = 0x80000
	extentMagic           = 0xF30A
	maxExtentLen          = 32768
	extentsPerBlock       = (blockSize - 12) / 12
	fastSymlinkMax        = 59 // a target this long fits in i_block
	pointersPerBlock      = blockSize / 4
	directBlocks          = 12
	extraIsize            = 32
	dirFileTypeRegular    = 1
	dirFileTypeDirectory  = 2
	dirFileTypeSymlink    = 7
	superFlagSignedHash   = 0x1
	hashVersionHalfMD4    = 1
	superStateClean       = 1
	superErrorsContinue   = 1
	superRevDynamic       = 1
	superMaxMountDisabled = 0xFFFF
)

// ExtOptions configure PlanExt.
type ExtOptions struct {
	// FSType is "ext2" or "ext4".
	FSType string
	// Size is the image's size in bytes. Zero fits the content, with a
	// quarter more plus 1 MiB of headroom, rounded up to whole MiB.
	Size int64
	// MTime is every timestamp in the file system: inodes' and the
	// superblock's. It lies between 1970 and 2038-01-19, what 32-bit
	// times hold; the zero Time is 1970.
	MTime time.Time
}

// SizeError says that a file system of the requested size cannot hold its
// content.
type SizeError struct {
	// Size is the requested size in bytes, Need the least that would do.
	Size, Need int64
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("%d bytes is too small for the content: it needs at least %d bytes", e.Size, e.Need)
}

// MaxSizeError says that a file system would be larger than an ext file
// system without the 64bit feature can be: Size is the requested size, or
// zero when it was left to fit the content.
type MaxSizeError struct {
	Size, Max int64
}

func (e *MaxSizeError) Error() string {
	if e.Size == 0 {
		return fmt.Sprintf("the content needs a file system of more than %d bytes (16 TiB), the most an ext file system of 4 KiB blocks without the 64bit feature holds", e.Max)
	}
	return fmt.Sprintf("%d bytes is more than an ext file system of 4 KiB blocks without the 64bit feature holds (at most %d bytes, 16 TiB)", e.Size, e.Max)
}

// LimitError says that an entry of the tree is beyond what the file system
// holds: a name too long, a file too large, a directory with too many
// subdirectories, a path the file system makes itself.
type LimitError struct {
	// Path is the entry's path in the tree.
	Path string
	// Reason says what limit it passes.
	Reason string
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("rootfs path %s: %s", shorten(e.Path), e.Reason)
}

// shorten quotes a path for a message, at most 200 bytes of it (see
// msg.Quote).
func shorten(s string) string { return msg.Quote(s, 200) }

// Ext is an ext2 or ext4 file system laid out and ready to write: every
// inode, block and directory entry has its place.
type Ext struct {
	fsType     string
	mtime      uint32
	size       int64 // of the image file
	blocks     uint32
	groups     uint32
	inodeSize  uint32
	inodesPerG uint32
	itBlocks   uint32 // inode table blocks per group
	gdtBlocks  uint32
	nodes      []*node // root, lost+found, then the tree's entries
	uuid, seed [16]byte
	// end is the block after the last data or mapping block: every block
	// below it is in use, and above it only the groups' metadata.
	end uint32
}

// node is one inode of the file system.
type node struct {
	ino      uint32
	parent   uint32 // the inode of its directory
	entry    image.Entry
	children []*node
	nlink    uint16
	dirLen   uint32   // a directory's blocks
	data     []run    // data blocks, in logical order
	meta     []uint32 // indirect or extent leaf blocks
}

// run is blocks [start, start+n).
type run struct{ start, n uint32 }

func (n *node) dataBlocks() uint32 {
	var t uint32
	for _, r := range n.data {
		t += r.n
	}
	return t
}

// Size returns the size of the image file in bytes.
func (x *Ext) Size() int64 { return x.size }
