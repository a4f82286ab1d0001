package rootfs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"path"

	"github.com/nubificus/bunix/pkg/image"
)

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
		return n.dirLen
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
	x.groups = uint32((uint64(blocks) + blocksPerGroup - 1) / blocksPerGroup)
	x.gdtBlocks = (x.groups*groupDescSize + blockSize - 1) / blockSize
	perBlock := blockSize / x.inodeSize
	// Inodes: what the tree needs with a quarter more, or one per
	// inodeRatio bytes, whichever is more.
	want := uint64(len(nodes)) + firstInode - 2
	want += want/4 + 16
	want = max(want, uint64(blocks)*blockSize/inodeRatio)
	ipg := (want + uint64(x.groups) - 1) / uint64(x.groups)
	ipg = (ipg + uint64(perBlock) - 1) / uint64(perBlock) * uint64(perBlock)
	if ipg > 8*blockSize || ipg*uint64(x.groups) > math.MaxUint32 {
		return errNoSpace
	}
	x.inodesPerG = uint32(ipg)
	x.itBlocks = x.inodesPerG / perBlock
	// The last group must hold its metadata and a block more; else it is
	// dropped from the file system (the image keeps its size).
	if last := x.groups - 1; x.groupBlocks(last) <= x.metaBlocks(last) {
		if x.groups == 1 {
			return errNoSpace
		}
		x.blocks = groupStart(last)
		x.groups--
	}
	// Blocks go out in order, each group's metadata skipped: a run ends
	// where a group does.
	x.end = 0
	alloc := func(n uint32) ([]run, error) {
		var runs []run
		for n > 0 {
			if x.end >= x.blocks {
				return nil, errNoSpace
			}
			g := x.end / blocksPerGroup
			x.end = max(x.end, groupStart(g)+x.metaBlocks(g))
			l := min(n, groupStart(g)+x.groupBlocks(g)-x.end)
			runs = append(runs, run{x.end, l})
			x.end += l
			n -= l
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
		m := x.metaLen(n)
		if x.fsType == "ext4" && m > maxExtentLeaves {
			return &LimitError{Path: n.entry.Path, Reason: fmt.Sprintf("the file of %d bytes takes %d extents here, more than the %d this writer's one-level extent tree holds: use ext2, or split the file", n.size(), len(n.extents()), maxExtentLeaves*extentsPerBlock)}
		}
		metaRuns, err := alloc(m)
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
	return ext2MetaLen(n.dataBlocks())
}

// ext2MetaLen returns how many indirect blocks an ext2 file of d data blocks
// has.
func ext2MetaLen(d uint32) uint32 {
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
