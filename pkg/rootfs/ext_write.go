package rootfs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/nubificus/bunix/pkg/image"
	"golang.org/x/sys/unix"
)

// Write writes the file system to w, which must read as zeros where nothing
// is written (a new, empty file). It reads each regular file's source once,
// and fails if the file's size has changed since PlanExt.
func (x *Ext) Write(w io.WriterAt) error {
	ew := &endWriter{w: w}
	if err := x.writeMetadata(ew); err != nil {
		return fmt.Errorf("writing the %s image: %w", x.fsType, err)
	}
	for _, n := range x.nodes {
		if err := x.writeNode(ew, n); err != nil {
			return fmt.Errorf("writing %s to the %s image: %w", n.entry.Path, x.fsType, err)
		}
	}
	// The file ends at Size even where the last blocks are free or hold
	// a hole of a sparse file.
	if ew.end < x.size {
		if _, err := w.WriteAt([]byte{0}, x.size-1); err != nil {
			return fmt.Errorf("writing the %s image: %w", x.fsType, err)
		}
	}
	return nil
}

// endWriter is an io.WriterAt that notes the end of the furthest write.
type endWriter struct {
	w   io.WriterAt
	end int64
}

func (e *endWriter) WriteAt(p []byte, off int64) (int, error) {
	n, err := e.w.WriteAt(p, off)
	e.end = max(e.end, off+int64(n))
	return n, err
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

// usedDirs returns how many directories each group's inodes hold.
func (x *Ext) usedDirs() []uint16 {
	d := make([]uint16, x.groups)
	for _, n := range x.nodes {
		if n.entry.Type == image.Directory {
			d[(n.ino-1)/x.inodesPerG]++
		}
	}
	return d
}

// freeBlocks returns how many blocks of group g are free: those past its
// metadata and past x.end.
func (x *Ext) freeBlocks(g uint32) uint32 {
	first, end := groupStart(g)+x.metaBlocks(g), groupStart(g)+x.groupBlocks(g)
	return end - min(end, max(first, x.end))
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
	dirs := x.usedDirs()
	for g := uint32(0); g < x.groups; g++ {
		d := gdt[g*groupDescSize:]
		bitmaps := groupStart(g) + x.metaBlocks(g) - x.itBlocks - 2
		le.PutUint32(d[0:], bitmaps)
		le.PutUint32(d[4:], bitmaps+1)
		le.PutUint32(d[8:], bitmaps+2)
		le.PutUint16(d[12:], uint16(x.freeBlocks(g)))
		le.PutUint16(d[14:], uint16(x.inodesPerG-x.usedInodes(g)))
		le.PutUint16(d[16:], dirs[g])
	}
	return gdt
}

// blockBitmap returns group g's block bitmap; the bits past the end of a
// short last group are set, as the format wants.
func (x *Ext) blockBitmap(g uint32) []byte {
	bm := make([]byte, blockSize)
	n := x.groupBlocks(g)
	// In use: the metadata, then up to x.end.
	used := max(x.metaBlocks(g), min(n, max(x.end, groupStart(g))-groupStart(g)))
	setBits(bm, 0, used)
	setBits(bm, n, 8*blockSize)
	return bm
}

// setBits sets bits [from, to) of bm.
func setBits(bm []byte, from, to uint32) {
	for i := from; i < to; {
		if i%8 == 0 && to-i >= 8 {
			bm[i/8] = 0xff
			i += 8
			continue
		}
		bm[i/8] |= 1 << (i % 8)
		i++
	}
}

func (x *Ext) inodeBitmap(g uint32) []byte {
	bm := make([]byte, blockSize)
	setBits(bm, 0, x.usedInodes(g))
	setBits(bm, x.inodesPerG, 8*blockSize)
	return bm
}

// inode returns the on-disk inode of n.
func (x *Ext) inode(n *node) []byte {
	in := make([]byte, x.inodeSize)
	le := binary.LittleEndian
	size := n.size()
	le.PutUint16(in[0:], uint16(n.entry.Mode()))
	if n.ino == lostFoundInode {
		le.PutUint16(in[0:], image.UnixDir|0o700)
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
		x.mapBlocks(n, in[40:100], nil)
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

// mapBlocks fills i_block with n's ext2 block map and hands each indirect
// block, with its number, to emit, which must not keep it; the numbers come
// from n.meta in order. With emit nil it fills i_block only. Memory does
// not grow with the file: one block per level of the map.
func (x *Ext) mapBlocks(n *node, iblock []byte, emit func(num uint32, b []byte) error) error {
	le := binary.LittleEndian
	ri, off, left := 0, uint32(0), n.dataBlocks()
	phys := func() uint32 {
		r := n.data[ri]
		b := r.start + off
		if off++; off == r.n {
			ri, off = ri+1, 0
		}
		left--
		return b
	}
	meta := n.meta
	var bufs [4][]byte
	// fill builds an indirect tree of the given depth over the next data
	// blocks and returns its block number.
	var fill func(depth int) (uint32, error)
	fill = func(depth int) (uint32, error) {
		num := meta[0]
		meta = meta[1:]
		if bufs[depth] == nil {
			bufs[depth] = make([]byte, blockSize)
		}
		b := bufs[depth]
		clear(b)
		for i := 0; i < pointersPerBlock && left > 0; i++ {
			p := uint32(0)
			if depth == 1 {
				p = phys()
			} else {
				var err error
				if p, err = fill(depth - 1); err != nil {
					return 0, err
				}
			}
			le.PutUint32(b[4*i:], p)
		}
		if emit == nil {
			return num, nil
		}
		return num, emit(num, b)
	}
	for i := 0; i < directBlocks && left > 0; i++ {
		le.PutUint32(iblock[4*i:], phys())
	}
	for depth := 1; depth <= 3 && left > 0; depth++ {
		num, err := fill(depth)
		if err != nil {
			return err
		}
		le.PutUint32(iblock[4*(directBlocks+depth-1):], num)
	}
	return nil
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
		err := x.mapBlocks(n, make([]byte, 60), func(num uint32, b []byte) error {
			_, err := w.WriteAt(b, int64(num)*blockSize)
			return err
		})
		if err != nil {
			return err
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
	f, err := n.entry.Open()
	if err != nil {
		return fmt.Errorf("reading %s for %s: %w", n.entry.Source, n.entry.Path, err)
	}
	defer f.Close()
	var logical int64
	for _, r := range n.data {
		chunk := min(n.entry.Size-logical, int64(r.n)*blockSize)
		if err := copyData(w, int64(r.start)*blockSize, f, logical, chunk); err != nil {
			return fmt.Errorf("reading %s: %w", n.entry.Source, err)
		}
		logical += chunk
	}
	fi, err := f.Stat()
	switch {
	case err != nil:
		return err
	case fi.Size() < n.entry.Size:
		return fmt.Errorf("%s shrank below %d bytes while the image was written", n.entry.Source, n.entry.Size)
	case fi.Size() > n.entry.Size:
		return fmt.Errorf("%s grew past %d bytes while the image was written", n.entry.Source, n.entry.Size)
	}
	return nil
}

// errShrank says that a source ended before the bytes copyData was to copy.
var errShrank = errors.New("the file shrank while the image was written")

// copyData copies bytes [off, off+n) of f to w at at, and only the parts
// that hold data: holes in a sparse f are skipped, since w reads as zeros
// where nothing is written, so the image stays sparse too. Where the file
// system cannot tell holes, it copies everything.
func copyData(w io.WriterAt, at int64, f *os.File, off, n int64) error {
	start, end := off, off+n
	for off < end {
		data, err := f.Seek(off, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) {
			return nil // a hole to the end of the file; Write checks its size
		}
		hole := end
		if err == nil {
			hole, err = f.Seek(data, unix.SEEK_HOLE)
		}
		if err != nil {
			data, hole = off, end // holes unknown
		}
		if data >= end {
			return nil
		}
		hole = min(hole, end)
		m, err := io.Copy(io.NewOffsetWriter(w, at+data-start), io.NewSectionReader(f, data, hole-data))
		if err != nil {
			return err
		}
		if m != hole-data {
			return errShrank
		}
		off = hole
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
