package rootfs

import (
	"fmt"
	"time"

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
	// superblock's.
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
	used       []bool // per block, whole file system
}

// node is one inode of the file system.
type node struct {
	ino      uint32
	parent   uint32 // the inode of its directory
	entry    image.Entry
	children []*node
	nlink    uint16
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
