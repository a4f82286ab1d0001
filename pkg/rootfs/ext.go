package rootfs

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
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

// PlanExt lays tree, as Tree returns it, out as an ext2 or ext4 file system.
// Inode 2 is the root and inode 11 is /lost+found, which tree must not hold;
// the entries follow in tree order. With o.Size set and too small, the error
// is a *SizeError.
func PlanExt(tree []image.Entry, o ExtOptions) (*Ext, error) {
	if o.FSType != "ext2" && o.FSType != "ext4" {
		return nil, fmt.Errorf("planning an ext file system: unknown type %q (known: ext2, ext4)", o.FSType)
	}
	nodes, err := buildNodes(tree)
	if err != nil {
		return nil, err
	}
	x := &Ext{fsType: o.FSType, mtime: uint32(o.MTime.Unix()), inodeSize: 128}
	if o.FSType == "ext4" {
		x.inodeSize = 256
	}
	x.uuid, x.seed = identity(o.FSType, tree)
	if o.Size > 0 {
		blocks := o.Size / blockSize
		if blocks > 1<<32-1 {
			return nil, fmt.Errorf("planning an ext file system: %d bytes is more than this writer supports (16 TiB)", o.Size)
		}
		if err := x.layout(uint32(max(blocks, 0)), nodes); err != nil {
			return nil, &SizeError{Size: o.Size, Need: int64(fitBlocks(x, nodes)) * blockSize}
		}
		x.size = o.Size
		return x, nil
	}
	need := fitBlocks(x, nodes)
	total := need + need/4 + minBlocks
	total = (total + minBlocks - 1) / minBlocks * minBlocks
	for x.layout(total, nodes) != nil {
		total += minBlocks
	}
	x.size = int64(x.blocks) * blockSize
	return x, nil
}

// fitBlocks returns the fewest blocks that hold nodes.
func fitBlocks(x *Ext, nodes []*node) uint32 {
	lo, hi := uint32(1), uint32(minBlocks)
	for x.layout(hi, nodes) != nil {
		lo, hi = hi, hi*2
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		if x.layout(mid, nodes) == nil {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return hi
}

// Size returns the size of the image file in bytes.
func (x *Ext) Size() int64 { return x.size }

// buildNodes makes the inodes: root, lost+found, then tree's entries.
func buildNodes(tree []image.Entry) ([]*node, error) {
	root := &node{ino: rootInode, parent: rootInode, entry: image.Entry{Path: "/", Type: image.Directory}}
	lf := &node{ino: lostFoundInode, parent: rootInode, entry: image.Entry{Path: "/lost+found", Type: image.Directory}}
	nodes := []*node{root, lf}
	dirs := map[string]*node{"/": root}
	root.children = append(root.children, lf)
	for i, e := range tree {
		if e.Path == "/lost+found" || path.Dir(e.Path) == "/lost+found" {
			return nil, fmt.Errorf("rootfs path %s: /lost+found is made by the file system itself", e.Path)
		}
		if e.Type == image.Symlink && len(e.Linkname) >= blockSize {
			return nil, fmt.Errorf("rootfs path %s: symlink target is %d bytes, longer than an ext symlink can be", e.Path, len(e.Linkname))
		}
		parent, ok := dirs[path.Dir(e.Path)]
		if !ok {
			return nil, fmt.Errorf("rootfs path %s: its directory is not in the tree (use Tree)", e.Path)
		}
		n := &node{ino: uint32(firstInode + 1 + i), parent: parent.ino, entry: e}
		parent.children = append(parent.children, n)
		if e.Type == image.Directory {
			dirs[e.Path] = n
		}
		nodes = append(nodes, n)
	}
	for _, n := range nodes {
		n.nlink = 1
		if n.entry.Type != image.Directory {
			continue
		}
		n.nlink = 2
		for _, c := range n.children {
			if c.entry.Type == image.Directory {
				n.nlink++
			}
		}
		if len(n.children) > 65000 {
			return nil, fmt.Errorf("rootfs path %s: more than 65000 entries in one directory", n.entry.Path)
		}
	}
	return nodes, nil
}

// identity derives the UUID and directory hash seed from the tree, so that
// they are fixed for the same content and differ between different ones.
func identity(fsType string, tree []image.Entry) (uuid, seed [16]byte) {
	h := sha256.New()
	fmt.Fprintf(h, "bunix %s\x00", fsType)
	for _, e := range tree {
		fmt.Fprintf(h, "%s\x00%o\x00%d\x00%s\x00", e.Path, mode(e), e.Size, e.Linkname)
	}
	sum := h.Sum(nil)
	copy(uuid[:], sum[:16])
	copy(seed[:], sum[16:])
	uuid[6] = uuid[6]&0x0f | 0x50 // version 5: name-based
	uuid[8] = uuid[8]&0x3f | 0x80 // RFC 4122 variant
	return uuid, seed
}

// dirEntryLen is the length of a directory entry naming name.
func dirEntryLen(name string) int { return (8 + len(name) + 3) &^ 3 }

// dirNames returns the entries of directory n: ".", "..", then its children.
func (n *node) dirNames() []dirEntry {
	out := []dirEntry{{".", n.ino, dirFileTypeDirectory}, {"..", n.parent, dirFileTypeDirectory}}
	for _, c := range n.children {
		t := uint8(dirFileTypeRegular)
		switch c.entry.Type {
		case image.Directory:
			t = dirFileTypeDirectory
		case image.Symlink:
			t = dirFileTypeSymlink
		}
		out = append(out, dirEntry{path.Base(c.entry.Path), c.ino, t})
	}
	return out
}

type dirEntry struct {
	name string
	ino  uint32
	typ  uint8
}

// packDir returns a directory's blocks: entries packed in order, none
// crossing a block, the last of each block stretched to its end.
func packDir(ents []dirEntry) []byte {
	var out []byte
	blockStart, last := 0, -1
	for _, d := range ents {
		l := dirEntryLen(d.name)
		if last < 0 || len(out)+l > blockStart+blockSize {
			if last >= 0 {
				binary.LittleEndian.PutUint16(out[last+4:], uint16(blockStart+blockSize-last))
			}
			blockStart = len(out)
			if last >= 0 {
				blockStart = (len(out) + blockSize - 1) / blockSize * blockSize
			}
			out = append(out, make([]byte, blockStart+blockSize-len(out))...)
			out = out[:blockStart]
		}
		e := out[len(out) : len(out)+l]
		binary.LittleEndian.PutUint32(e[0:], d.ino)
		binary.LittleEndian.PutUint16(e[4:], uint16(l))
		e[6] = uint8(len(d.name))
		e[7] = d.typ
		copy(e[8:], d.name)
		last = len(out)
		out = out[:len(out)+l]
	}
	binary.LittleEndian.PutUint16(out[last+4:], uint16(blockStart+blockSize-last))
	return out[:blockStart+blockSize]
}

// dataLen returns how many data blocks n needs.
func (n *node) dataLen() uint32 {
	switch n.entry.Type {
	case image.Directory:
		return uint32(len(packDir(n.dirNames())) / blockSize)
	case image.Symlink:
		if len(n.entry.Linkname) <= fastSymlinkMax {
			return 0
		}
		return 1
	}
	return uint32((n.size() + blockSize - 1) / blockSize)
}

func (n *node) size() int64 {
	switch n.entry.Type {
	case image.Directory:
		return int64(n.dataBlocks()) * blockSize
	case image.Symlink:
		return int64(len(n.entry.Linkname))
	}
	if n.entry.Source == "" {
		return int64(len(n.entry.Data))
	}
	return n.entry.Size
}

// hasSuper reports whether group g holds a superblock backup: groups 0 and
// 1 and the powers of 3, 5 and 7 (sparse_super).
func hasSuper(g uint32) bool {
	if g <= 1 {
		return true
	}
	for _, b := range []uint32{3, 5, 7} {
		p := b
		for p < g {
			p *= b
		}
		if p == g {
			return true
		}
	}
	return false
}

// groupStart returns the first block of group g.
func groupStart(g uint32) uint32 { return g * blocksPerGroup }

// metaBlocks returns the metadata blocks at the start of group g: the
// superblock and descriptors if it has them, the two bitmaps, the inode
// table.
func (x *Ext) metaBlocks(g uint32) uint32 {
	m := 2 + x.itBlocks
	if hasSuper(g) {
		m += 1 + x.gdtBlocks
	}
	return m
}

// groupBlocks returns the number of blocks in group g.
func (x *Ext) groupBlocks(g uint32) uint32 {
	if g == x.groups-1 {
		return x.blocks - groupStart(g)
	}
	return blocksPerGroup
}

var errNoSpace = errors.New("no space")

// layout places everything in a file system of blocks blocks, or fails with
// errNoSpace.
func (x *Ext) layout(blocks uint32, nodes []*node) error {
	if blocks < 16 {
		return errNoSpace
	}
	x.blocks = blocks
	x.groups = (blocks + blocksPerGroup - 1) / blocksPerGroup
	x.gdtBlocks = (x.groups*groupDescSize + blockSize - 1) / blockSize
	perBlock := blockSize / x.inodeSize
	// Inodes: what the tree needs with a quarter more, or one per
	// inodeRatio bytes, whichever is more.
	want := uint32(len(nodes)) + firstInode - 2
	want += want/4 + 16
	want = max(want, uint32(int64(blocks)*blockSize/inodeRatio))
	ipg := (want + x.groups - 1) / x.groups
	ipg = (ipg + perBlock - 1) / perBlock * perBlock
	if ipg > 8*blockSize {
		return errNoSpace
	}
	x.inodesPerG = ipg
	x.itBlocks = ipg / perBlock
	// The last group must hold its metadata and a block more; else it is
	// dropped from the file system (the image keeps its size).
	if last := x.groups - 1; x.groupBlocks(last) <= x.metaBlocks(last) {
		if x.groups == 1 {
			return errNoSpace
		}
		x.blocks = groupStart(last)
		x.groups--
	}
	x.used = make([]bool, x.blocks)
	for g := uint32(0); g < x.groups; g++ {
		for b := uint32(0); b < x.metaBlocks(g); b++ {
			x.used[groupStart(g)+b] = true
		}
	}
	cursor := uint32(0)
	alloc := func(n uint32) ([]run, error) {
		var runs []run
		for n > 0 {
			for cursor < x.blocks && x.used[cursor] {
				cursor++
			}
			if cursor >= x.blocks {
				return nil, errNoSpace
			}
			start := cursor
			for cursor < x.blocks && !x.used[cursor] && n > 0 {
				x.used[cursor] = true
				cursor++
				n--
			}
			runs = append(runs, run{start, cursor - start})
		}
		return runs, nil
	}
	x.nodes = nodes
	for _, n := range nodes {
		n.data, n.meta = nil, nil
		runs, err := alloc(n.dataLen())
		if err != nil {
			return err
		}
		n.data = runs
		metaRuns, err := alloc(x.metaLen(n))
		if err != nil {
			return err
		}
		for _, r := range metaRuns {
			for b := r.start; b < r.start+r.n; b++ {
				n.meta = append(n.meta, b)
			}
		}
	}
	if uint64(len(nodes))+firstInode-2 > uint64(ipg)*uint64(x.groups) {
		return errNoSpace
	}
	return nil
}

// extents returns n's data runs as extents: no longer than maxExtentLen.
func (n *node) extents() []run {
	var out []run
	for _, r := range n.data {
		for r.n > 0 {
			l := min(r.n, maxExtentLen)
			out = append(out, run{r.start, l})
			r.start += l
			r.n -= l
		}
	}
	return out
}

// metaLen returns how many blocks n needs beyond its data: indirect blocks
// for ext2, extent leaves for ext4 when more than four extents.
func (x *Ext) metaLen(n *node) uint32 {
	if x.fsType == "ext4" {
		e := uint32(len(n.extents()))
		if e <= 4 {
			return 0
		}
		return (e + extentsPerBlock - 1) / extentsPerBlock
	}
	d := n.dataBlocks()
	var m uint32
	if d > directBlocks {
		m++ // single indirect
		d -= min(d, directBlocks+pointersPerBlock)
	} else {
		return 0
	}
	if d > 0 {
		inds := min((d+pointersPerBlock-1)/pointersPerBlock, pointersPerBlock)
		m += 1 + inds // double indirect and its indirect blocks
		d -= min(d, pointersPerBlock*pointersPerBlock)
	}
	if d > 0 {
		dinds := (d + pointersPerBlock*pointersPerBlock - 1) / (pointersPerBlock * pointersPerBlock)
		inds := (d + pointersPerBlock - 1) / pointersPerBlock
		m += 1 + dinds + inds // triple indirect
	}
	return m
}

// Write writes the file system to w, which must read as zeros where nothing
// is written (a new, empty file). It reads each regular file's source once,
// and fails if the file's size has changed since PlanExt.
func (x *Ext) Write(w io.WriterAt) error {
	if err := x.writeMetadata(w); err != nil {
		return fmt.Errorf("writing the %s image: %w", x.fsType, err)
	}
	for _, n := range x.nodes {
		if err := x.writeNode(w, n); err != nil {
			return fmt.Errorf("writing %s to the %s image: %w", n.entry.Path, x.fsType, err)
		}
	}
	// The file ends at Size even where the last blocks are free.
	if x.lastBlockFree() {
		if _, err := w.WriteAt([]byte{0}, x.size-1); err != nil {
			return fmt.Errorf("writing the %s image: %w", x.fsType, err)
		}
	}
	return nil
}

// lastBlockFree reports whether the image's last byte lies outside every
// written block.
func (x *Ext) lastBlockFree() bool {
	b := uint32((x.size - 1) / blockSize)
	return b >= x.blocks || !x.used[b]
}

func (x *Ext) writeMetadata(w io.WriterAt) error {
	sb := x.superblock()
	gdt := x.groupDescriptors()
	for g := uint32(0); g < x.groups; g++ {
		start := int64(groupStart(g)) * blockSize
		off := start
		if hasSuper(g) {
			binary.LittleEndian.PutUint16(sb[90:], uint16(g)) // s_block_group_nr
			sbOff := start
			if g == 0 {
				sbOff = superblockOffset
			}
			if _, err := w.WriteAt(sb, sbOff); err != nil {
				return err
			}
			if _, err := w.WriteAt(gdt, start+blockSize); err != nil {
				return err
			}
			off += int64(1+x.gdtBlocks) * blockSize
		}
		if _, err := w.WriteAt(x.blockBitmap(g), off); err != nil {
			return err
		}
		if _, err := w.WriteAt(x.inodeBitmap(g), off+blockSize); err != nil {
			return err
		}
	}
	for _, n := range x.nodes {
		if _, err := w.WriteAt(x.inode(n), x.inodeOffset(n.ino)); err != nil {
			return err
		}
	}
	return nil
}

func (x *Ext) inodeOffset(ino uint32) int64 {
	g := (ino - 1) / x.inodesPerG
	i := (ino - 1) % x.inodesPerG
	table := int64(groupStart(g)+x.metaBlocks(g)-x.itBlocks) * blockSize
	return table + int64(i)*int64(x.inodeSize)
}

// usedInodes returns how many inodes of group g are in use: the reserved
// ones, lost+found and the tree's, which are numbered from 1 up.
func (x *Ext) usedInodes(g uint32) uint32 {
	total := uint32(len(x.nodes)) + firstInode - 2
	first := g * x.inodesPerG
	if total <= first {
		return 0
	}
	return min(total-first, x.inodesPerG)
}

func (x *Ext) usedDirs(g uint32) uint16 {
	var d uint16
	for _, n := range x.nodes {
		if n.entry.Type == image.Directory && (n.ino-1)/x.inodesPerG == g {
			d++
		}
	}
	return d
}

func (x *Ext) freeBlocks(g uint32) uint32 {
	var free uint32
	for b := groupStart(g); b < groupStart(g)+x.groupBlocks(g); b++ {
		if !x.used[b] {
			free++
		}
	}
	return free
}

func (x *Ext) superblock() []byte {
	sb := make([]byte, 1024)
	le := binary.LittleEndian
	var freeBlocks, freeInodes uint32
	for g := uint32(0); g < x.groups; g++ {
		freeBlocks += x.freeBlocks(g)
		freeInodes += x.inodesPerG - x.usedInodes(g)
	}
	le.PutUint32(sb[0:], x.inodesPerG*x.groups)
	le.PutUint32(sb[4:], x.blocks)
	le.PutUint32(sb[12:], freeBlocks)
	le.PutUint32(sb[16:], freeInodes)
	// s_first_data_block (20) is 0 with 4 KiB blocks.
	le.PutUint32(sb[24:], 2) // s_log_block_size: 1024 << 2
	le.PutUint32(sb[28:], 2) // s_log_cluster_size
	le.PutUint32(sb[32:], blocksPerGroup)
	le.PutUint32(sb[36:], blocksPerGroup)
	le.PutUint32(sb[40:], x.inodesPerG)
	le.PutUint32(sb[48:], x.mtime) // s_wtime
	le.PutUint16(sb[54:], superMaxMountDisabled)
	le.PutUint16(sb[56:], extMagic)
	le.PutUint16(sb[58:], superStateClean)
	le.PutUint16(sb[60:], superErrorsContinue)
	le.PutUint32(sb[64:], x.mtime) // s_lastcheck
	le.PutUint32(sb[76:], superRevDynamic)
	le.PutUint32(sb[84:], firstInode)
	le.PutUint16(sb[88:], uint16(x.inodeSize))
	le.PutUint32(sb[92:], compatNone)
	incompat, roCompat := uint32(incompatFiletype), uint32(roCompatSparseSuper|roCompatLargeFile)
	if x.fsType == "ext4" {
		incompat |= incompatExtents
		roCompat |= roCompatExtraIsize
		le.PutUint16(sb[348:], extraIsize) // s_min_extra_isize
		le.PutUint16(sb[350:], extraIsize) // s_want_extra_isize
	}
	le.PutUint32(sb[96:], incompat)
	le.PutUint32(sb[100:], roCompat)
	copy(sb[104:], x.uuid[:])
	copy(sb[236:], x.seed[:])
	sb[252] = hashVersionHalfMD4
	le.PutUint32(sb[264:], x.mtime) // s_mkfs_time
	le.PutUint32(sb[352:], superFlagSignedHash)
	return sb
}

func (x *Ext) groupDescriptors() []byte {
	gdt := make([]byte, x.gdtBlocks*blockSize)
	le := binary.LittleEndian
	for g := uint32(0); g < x.groups; g++ {
		d := gdt[g*groupDescSize:]
		bitmaps := groupStart(g) + x.metaBlocks(g) - x.itBlocks - 2
		le.PutUint32(d[0:], bitmaps)
		le.PutUint32(d[4:], bitmaps+1)
		le.PutUint32(d[8:], bitmaps+2)
		le.PutUint16(d[12:], uint16(x.freeBlocks(g)))
		le.PutUint16(d[14:], uint16(x.inodesPerG-x.usedInodes(g)))
		le.PutUint16(d[16:], x.usedDirs(g))
	}
	return gdt
}

// blockBitmap returns group g's block bitmap; the bits past the end of a
// short last group are set, as the format wants.
func (x *Ext) blockBitmap(g uint32) []byte {
	bm := make([]byte, blockSize)
	n := x.groupBlocks(g)
	for i := uint32(0); i < 8*blockSize; i++ {
		if i >= n || x.used[groupStart(g)+i] {
			bm[i/8] |= 1 << (i % 8)
		}
	}
	return bm
}

func (x *Ext) inodeBitmap(g uint32) []byte {
	bm := make([]byte, blockSize)
	used := x.usedInodes(g)
	for i := uint32(0); i < 8*blockSize; i++ {
		if i < used || i >= x.inodesPerG {
			bm[i/8] |= 1 << (i % 8)
		}
	}
	return bm
}

// inode returns the on-disk inode of n.
func (x *Ext) inode(n *node) []byte {
	in := make([]byte, x.inodeSize)
	le := binary.LittleEndian
	size := n.size()
	le.PutUint16(in[0:], uint16(mode(n.entry)))
	if n.ino == lostFoundInode {
		le.PutUint16(in[0:], modeDir|0o700)
	}
	le.PutUint32(in[4:], uint32(size))
	le.PutUint32(in[108:], uint32(size>>32))
	for _, off := range []int{8, 12, 16} { // atime, ctime, mtime
		le.PutUint32(in[off:], x.mtime)
	}
	le.PutUint16(in[26:], n.nlink)
	le.PutUint32(in[28:], (n.dataBlocks()+uint32(len(n.meta)))*(blockSize/512))
	switch {
	case n.entry.Type == image.Symlink && len(n.entry.Linkname) <= fastSymlinkMax:
		copy(in[40:100], n.entry.Linkname)
	case x.fsType == "ext4":
		le.PutUint32(in[32:], inodeFlagExtents)
		x.extentRoot(n, in[40:100])
	default:
		x.mapBlocks(n, in[40:100])
	}
	if x.inodeSize > 128 {
		le.PutUint16(in[128:], extraIsize)
		le.PutUint32(in[144:], x.mtime) // crtime
	}
	return in
}

// extentHeader writes an extent header to b.
func extentHeader(b []byte, entries, maxEntries, depth uint16) {
	le := binary.LittleEndian
	le.PutUint16(b[0:], extentMagic)
	le.PutUint16(b[2:], entries)
	le.PutUint16(b[4:], maxEntries)
	le.PutUint16(b[6:], depth)
}

// extentRoot fills i_block with n's extent tree root: the extents
// themselves, or the index of its leaf blocks (n.meta).
func (x *Ext) extentRoot(n *node, iblock []byte) {
	ext := n.extents()
	le := binary.LittleEndian
	if len(n.meta) == 0 {
		extentHeader(iblock, uint16(len(ext)), 4, 0)
		putExtents(iblock[12:], ext, 0)
		return
	}
	extentHeader(iblock, uint16(len(n.meta)), 4, 1)
	logical := uint32(0)
	for i := range n.meta {
		e := iblock[12+12*i:]
		le.PutUint32(e[0:], logical)
		le.PutUint32(e[4:], n.meta[i])
		for _, r := range ext[i*extentsPerBlock : min(len(ext), (i+1)*extentsPerBlock)] {
			logical += r.n
		}
	}
}

// putExtents writes extents starting at logical block first.
func putExtents(b []byte, ext []run, first uint32) uint32 {
	le := binary.LittleEndian
	for i, r := range ext {
		e := b[12*i:]
		le.PutUint32(e[0:], first)
		le.PutUint16(e[4:], uint16(r.n))
		le.PutUint32(e[8:], r.start)
		first += r.n
	}
	return first
}

// extentLeaves returns the leaf blocks of n's extent tree, one per n.meta.
func (x *Ext) extentLeaves(n *node) [][]byte {
	ext := n.extents()
	var out [][]byte
	logical := uint32(0)
	for i := range n.meta {
		part := ext[i*extentsPerBlock : min(len(ext), (i+1)*extentsPerBlock)]
		b := make([]byte, blockSize)
		extentHeader(b, uint16(len(part)), extentsPerBlock, 0)
		logical = putExtents(b[12:], part, logical)
		out = append(out, b)
	}
	return out
}

// physical returns n's data blocks, in logical order.
func (n *node) physical() []uint32 {
	var out []uint32
	for _, r := range n.data {
		for b := r.start; b < r.start+r.n; b++ {
			out = append(out, b)
		}
	}
	return out
}

// mapBlocks fills i_block with n's ext2 block map and returns its indirect
// blocks by number, which it takes from n.meta in order.
func (x *Ext) mapBlocks(n *node, iblock []byte) map[uint32][]byte {
	le := binary.LittleEndian
	phys := n.physical()
	meta := n.meta
	next := func() uint32 {
		b := meta[0]
		meta = meta[1:]
		return b
	}
	blocks := map[uint32][]byte{}
	// fill builds an indirect tree of the given depth over phys and
	// returns its block number.
	var fill func(depth int) uint32
	fill = func(depth int) uint32 {
		num := next()
		b := make([]byte, blockSize)
		blocks[num] = b
		for i := 0; i < pointersPerBlock && len(phys) > 0; i++ {
			if depth == 1 {
				le.PutUint32(b[4*i:], phys[0])
				phys = phys[1:]
			} else {
				le.PutUint32(b[4*i:], fill(depth-1))
			}
		}
		return num
	}
	for i := 0; i < directBlocks && len(phys) > 0; i++ {
		le.PutUint32(iblock[4*i:], phys[0])
		phys = phys[1:]
	}
	for depth := 1; depth <= 3 && len(phys) > 0; depth++ {
		le.PutUint32(iblock[4*(directBlocks+depth-1):], fill(depth))
	}
	return blocks
}

// writeNode writes n's data blocks and its indirect or extent blocks.
func (x *Ext) writeNode(w io.WriterAt, n *node) error {
	switch {
	case x.fsType == "ext4" && len(n.meta) > 0:
		for i, leaf := range x.extentLeaves(n) {
			if _, err := w.WriteAt(leaf, int64(n.meta[i])*blockSize); err != nil {
				return err
			}
		}
	case x.fsType == "ext2" && len(n.meta) > 0:
		for num, b := range x.mapBlocks(n, make([]byte, 60)) {
			if _, err := w.WriteAt(b, int64(num)*blockSize); err != nil {
				return err
			}
		}
	}
	switch n.entry.Type {
	case image.Directory:
		return x.writeRuns(w, n, packDir(n.dirNames()))
	case image.Symlink:
		if len(n.entry.Linkname) > fastSymlinkMax {
			return x.writeRuns(w, n, []byte(n.entry.Linkname))
		}
		return nil
	}
	if n.entry.Source == "" {
		return x.writeRuns(w, n, n.entry.Data)
	}
	f, err := os.Open(n.entry.Source)
	if err != nil {
		return err
	}
	defer f.Close()
	left := n.entry.Size
	for _, r := range n.data {
		chunk := min(left, int64(r.n)*blockSize)
		m, err := io.Copy(io.NewOffsetWriter(w, int64(r.start)*blockSize), io.LimitReader(f, chunk))
		if err != nil {
			return err
		}
		if m != chunk {
			return fmt.Errorf("%s shrank below %d bytes while the image was written", n.entry.Source, n.entry.Size)
		}
		left -= chunk
	}
	var one [1]byte
	if m, _ := f.Read(one[:]); m > 0 {
		return fmt.Errorf("%s grew past %d bytes while the image was written", n.entry.Source, n.entry.Size)
	}
	return nil
}

// writeRuns writes data across n's data blocks.
func (x *Ext) writeRuns(w io.WriterAt, n *node, data []byte) error {
	for _, r := range n.data {
		chunk := data[:min(len(data), int(r.n)*blockSize)]
		if _, err := w.WriteAt(chunk, int64(r.start)*blockSize); err != nil {
			return err
		}
		data = data[len(chunk):]
	}
	return nil
}
