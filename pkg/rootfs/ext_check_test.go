package rootfs

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path"

	"github.com/nubificus/bunix/pkg/image"
)

// memImage is an image in memory: an io.WriterAt that grows.
type memImage struct{ b []byte }

func (m *memImage) WriteAt(p []byte, off int64) (int, error) {
	if end := off + int64(len(p)); end > int64(len(m.b)) {
		m.b = append(m.b, make([]byte, end-int64(len(m.b)))...)
	}
	return copy(m.b[off:], p), nil
}

// extReader reads an ext2/ext4 image the writer made, checking its
// structure as it goes: a small, independent reader for tests and fuzzing.
type extReader struct {
	img                    []byte
	blocks, inodes         uint32
	bpg, ipg, inodeSize    uint32
	groups                 uint32
	refs                   map[uint32]string // block -> who uses it
	le                     binary.ByteOrder
	freeBlocks, freeInodes uint32
}

func (r *extReader) u16(off int) uint16 { return r.le.Uint16(r.img[off:]) }
func (r *extReader) u32(off int) uint32 { return r.le.Uint32(r.img[off:]) }

// checkImage reads img and checks it holds exactly tree: every entry at its
// path with its type, mode, size, contents and link count; every block in
// use marked so in the bitmaps, and none used twice; the free counts right.
func checkImage(img []byte, tree []image.Entry) error {
	r := &extReader{img: img, le: binary.LittleEndian, refs: map[uint32]string{}}
	if len(img) < 2048 || r.u16(extMagicOffset) != extMagic {
		return fmt.Errorf("no ext superblock")
	}
	sb := superblockOffset
	r.inodes, r.blocks = r.u32(sb), r.u32(sb+4)
	r.freeBlocks, r.freeInodes = r.u32(sb+12), r.u32(sb+16)
	r.bpg, r.ipg, r.inodeSize = r.u32(sb+32), r.u32(sb+40), uint32(r.u16(sb+88))
	if r.u32(sb+24) != 2 || r.bpg != blocksPerGroup || r.ipg == 0 || r.ipg > 8*blockSize {
		return fmt.Errorf("odd geometry: log block %d, %d blocks and %d inodes per group", r.u32(sb+24), r.bpg, r.ipg)
	}
	if int64(r.blocks)*blockSize > int64(len(img)) {
		return fmt.Errorf("%d blocks in an image of %d bytes", r.blocks, len(img))
	}
	r.groups = (r.blocks + r.bpg - 1) / r.bpg
	if r.inodes != r.ipg*r.groups {
		return fmt.Errorf("%d inodes, %d per group in %d groups", r.inodes, r.ipg, r.groups)
	}
	extents := r.u32(sb+96)&incompatExtents != 0
	// Metadata blocks, from the group descriptors.
	var usedBlocks, usedInodes uint32
	gdtBlocks := (r.groups*groupDescSize + blockSize - 1) / blockSize
	itBlocks := r.ipg * r.inodeSize / blockSize
	for g := uint32(0); g < r.groups; g++ {
		d := blockSize + int(g)*groupDescSize
		start := g * r.bpg
		if hasSuper(g) {
			for b := start; b < start+1+gdtBlocks; b++ {
				if err := r.ref(b, "superblock"); err != nil {
					return err
				}
			}
		}
		bb, ib, it := r.u32(d), r.u32(d+4), r.u32(d+8)
		for _, b := range []uint32{bb, ib} {
			if err := r.ref(b, fmt.Sprintf("group %d bitmap", g)); err != nil {
				return err
			}
		}
		for b := it; b < it+itBlocks; b++ {
			if err := r.ref(b, fmt.Sprintf("group %d inode table", g)); err != nil {
				return err
			}
		}
		n := min(r.bpg, r.blocks-start)
		var used, iused uint32
		for i := uint32(0); i < n; i++ {
			if r.img[int(bb)*blockSize+int(i/8)]&(1<<(i%8)) != 0 {
				used++
			}
		}
		for i := uint32(0); i < r.ipg; i++ {
			if r.img[int(ib)*blockSize+int(i/8)]&(1<<(i%8)) != 0 {
				iused++
			}
		}
		if free := uint32(r.u16(d + 12)); free != n-used {
			return fmt.Errorf("group %d: descriptor says %d blocks free, its bitmap %d", g, free, n-used)
		}
		if free := uint32(r.u16(d + 14)); free != r.ipg-iused {
			return fmt.Errorf("group %d: descriptor says %d inodes free, its bitmap %d", g, free, r.ipg-iused)
		}
		usedBlocks += used
		usedInodes += iused
	}
	if r.freeBlocks != r.blocks-usedBlocks || r.freeInodes != r.inodes-usedInodes {
		return fmt.Errorf("superblock says %d blocks and %d inodes free, bitmaps %d and %d", r.freeBlocks, r.freeInodes, r.blocks-usedBlocks, r.inodes-usedInodes)
	}
	if want := uint32(len(tree)) + firstInode; usedInodes != want {
		return fmt.Errorf("%d inodes in use, want %d", usedInodes, want)
	}
	// The tree, from the root.
	byPath := map[string]uint32{}
	var walk func(dir string, ino, parent uint32) error
	walk = func(dir string, ino, parent uint32) error {
		data, err := r.contents(ino, extents, dir)
		if err != nil {
			return err
		}
		subdirs := 0
		for blk := 0; blk < len(data); blk += blockSize {
			for off := blk; off < blk+blockSize; {
				e := data[off:]
				child, recLen, nameLen, typ := r.le.Uint32(e), int(r.le.Uint16(e[4:])), int(e[6]), e[7]
				if recLen < 8+nameLen || recLen%4 != 0 || off+recLen > blk+blockSize {
					return fmt.Errorf("%s: bad entry at %d: rec_len %d, name_len %d", dir, off, recLen, nameLen)
				}
				name := string(e[8 : 8+nameLen])
				off += recLen
				switch {
				case off-recLen == 0 && (name != "." || child != ino):
					return fmt.Errorf("%s: first entry %q -> %d", dir, name, child)
				case off-recLen == 12 && (name != ".." || child != parent):
					return fmt.Errorf("%s: second entry %q -> %d, want .. -> %d", dir, name, child, parent)
				case name == "." || name == "..":
					continue
				}
				p := path.Join(dir, name)
				if _, dup := byPath[p]; dup || child < rootInode || child > r.inodes {
					return fmt.Errorf("%s: entry %q -> inode %d twice or out of range", dir, name, child)
				}
				byPath[p] = child
				mode := r.u16(r.inodeOff(child))
				if want := map[uint16]uint8{image.UnixDir >> 12: dirFileTypeDirectory, image.UnixRegular >> 12: dirFileTypeRegular, image.UnixSymlink >> 12: dirFileTypeSymlink}[mode>>12]; typ != want {
					return fmt.Errorf("%s: entry type %d for mode %o", p, typ, mode)
				}
				if typ == dirFileTypeDirectory {
					subdirs++
					if err := walk(p, child, ino); err != nil {
						return err
					}
				}
			}
		}
		if links := r.u16(r.inodeOff(ino) + 26); int(links) != 2+subdirs {
			return fmt.Errorf("%s: %d links, %d subdirectories", dir, links, subdirs)
		}
		return nil
	}
	if err := walk("/", rootInode, rootInode); err != nil {
		return err
	}
	if byPath["/lost+found"] != lostFoundInode {
		return fmt.Errorf("no /lost+found at inode %d", lostFoundInode)
	}
	if len(byPath) != len(tree)+1 { // with lost+found
		return fmt.Errorf("%d entries in the file system, %d in the tree", len(byPath), len(tree)+1)
	}
	for _, e := range tree {
		ino, ok := byPath[e.Path]
		if !ok {
			return fmt.Errorf("%s: not in the file system", e.Path)
		}
		off := r.inodeOff(ino)
		if m := uint32(r.u16(off)); m != e.Mode() {
			return fmt.Errorf("%s: mode %o, want %o", e.Path, m, e.Mode())
		}
		size := int64(r.u32(off+4)) | int64(r.u32(off+108))<<32
		if e.Type != image.Directory && r.u16(off+26) != 1 {
			return fmt.Errorf("%s: %d links", e.Path, r.u16(off+26))
		}
		switch e.Type {
		case image.Symlink:
			got := ""
			if len(e.Linkname) <= fastSymlinkMax {
				got = string(r.img[off+40 : off+40+int(size)])
			} else {
				data, err := r.contents(ino, extents, e.Path)
				if err != nil {
					return err
				}
				got = string(data[:min(int64(len(data)), size)])
			}
			if got != e.Linkname {
				return fmt.Errorf("%s: symlink to %q, want %q", e.Path, got, e.Linkname)
			}
		case image.Regular:
			data, err := r.contents(ino, extents, e.Path)
			if err != nil {
				return err
			}
			if e.Source != "" {
				if e.Data, err = os.ReadFile(e.Source); err != nil {
					return err
				}
			}
			if size != int64(len(e.Data)) || !bytes.Equal(data[:size], e.Data) {
				return fmt.Errorf("%s: %d bytes that differ from the %d of the tree", e.Path, size, len(e.Data))
			}
		}
	}
	// Every block in use is one the metadata or a file claims.
	if uint32(len(r.refs)) != usedBlocks {
		return fmt.Errorf("%d blocks marked in use, %d claimed", usedBlocks, len(r.refs))
	}
	for b, who := range r.refs {
		g, i := b/r.bpg, b%r.bpg
		bb := r.u32(blockSize + int(g)*groupDescSize)
		if r.img[int(bb)*blockSize+int(i/8)]&(1<<(i%8)) == 0 {
			return fmt.Errorf("block %d (%s) not marked in use", b, who)
		}
	}
	return nil
}

// ref claims block b for who, once.
func (r *extReader) ref(b uint32, who string) error {
	if b >= r.blocks {
		return fmt.Errorf("%s: block %d past the end (%d)", who, b, r.blocks)
	}
	if old, ok := r.refs[b]; ok {
		return fmt.Errorf("block %d used by %s and by %s", b, old, who)
	}
	r.refs[b] = who
	return nil
}

func (r *extReader) inodeOff(ino uint32) int {
	g, i := (ino-1)/r.ipg, (ino-1)%r.ipg
	it := r.u32(blockSize + int(g)*groupDescSize + 8)
	return int(it)*blockSize + int(i*r.inodeSize)
}

// contents returns the data blocks of inode ino, claiming them and its
// mapping blocks; the count of i_blocks must agree.
func (r *extReader) contents(ino uint32, extents bool, who string) ([]byte, error) {
	off := r.inodeOff(ino)
	iblock := r.img[off+40 : off+100]
	var blocks []uint32
	var meta uint32
	claim := func(b uint32) ([]byte, error) {
		if err := r.ref(b, who); err != nil {
			return nil, err
		}
		return r.img[int(b)*blockSize : int(b+1)*blockSize], nil
	}
	if extents {
		if r.u32(off+32)&inodeFlagExtents == 0 {
			return nil, fmt.Errorf("%s: no extents flag", who)
		}
		var leaf func(node []byte, depth uint16) error
		leaf = func(node []byte, depth uint16) error {
			if r.le.Uint16(node) != extentMagic || r.le.Uint16(node[6:]) != depth {
				return fmt.Errorf("%s: bad extent header", who)
			}
			for i := 0; i < int(r.le.Uint16(node[2:])); i++ {
				e := node[12+12*i:]
				if depth == 0 {
					if logical := r.le.Uint32(e); logical != uint32(len(blocks)) {
						return fmt.Errorf("%s: extent at logical %d, want %d", who, logical, len(blocks))
					}
					for b := r.le.Uint32(e[8:]); b < r.le.Uint32(e[8:])+uint32(r.le.Uint16(e[4:])); b++ {
						blocks = append(blocks, b)
					}
					continue
				}
				meta++
				child, err := claim(r.le.Uint32(e[4:]))
				if err != nil {
					return err
				}
				if err := leaf(child, depth-1); err != nil {
					return err
				}
			}
			return nil
		}
		if err := leaf(iblock, r.le.Uint16(iblock[6:])); err != nil {
			return nil, err
		}
	} else {
		var ind func(b uint32, depth int) error
		ind = func(b uint32, depth int) error {
			if b == 0 {
				return nil
			}
			if depth == 0 {
				blocks = append(blocks, b)
				return nil
			}
			meta++
			data, err := claim(b)
			if err != nil {
				return err
			}
			for i := 0; i < pointersPerBlock; i++ {
				if err := ind(r.le.Uint32(data[4*i:]), depth-1); err != nil {
					return err
				}
			}
			return nil
		}
		for i := 0; i < 15; i++ {
			if err := ind(r.le.Uint32(iblock[4*i:]), max(0, i-11)); err != nil {
				return nil, err
			}
		}
	}
	if got, want := r.u32(off+28), (uint32(len(blocks))+meta)*(blockSize/512); got != want {
		return nil, fmt.Errorf("%s: i_blocks %d, want %d", who, got, want)
	}
	var out []byte
	for _, b := range blocks {
		data, err := claim(b)
		if err != nil {
			return nil, err
		}
		out = append(out, data...)
	}
	return out, nil
}
