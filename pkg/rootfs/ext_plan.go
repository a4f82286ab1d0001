package rootfs

import (
	"crypto/sha256"
	"fmt"
	"path"

	"github.com/nubificus/bunix/pkg/image"
)

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
