package rootfs

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"path"
	"strings"
	"time"

	"github.com/nubificus/bunix/pkg/image"
)

// PlanExt lays tree, as Tree returns it, out as an ext2 or ext4 file system.
// Inode 2 is the root and inode 11 is /lost+found, which tree must not hold;
// the entries follow in tree order. It checks every limit of the file
// system before anything is written: with o.Size set and too small, the
// error is a *SizeError; a size or content beyond 16 TiB is a
// *MaxSizeError; an entry the file system cannot hold (a name over 255
// bytes, a file too large, too many subdirectories, /lost+found) is a
// *LimitError.
func PlanExt(tree []image.Entry, o ExtOptions) (*Ext, error) {
	if o.FSType != "ext2" && o.FSType != "ext4" {
		return nil, fmt.Errorf("planning an ext file system: unknown type %q (known: ext2, ext4)", o.FSType)
	}
	if t := o.MTime.Unix(); !o.MTime.IsZero() && (t < 0 || t > math.MaxInt32) {
		return nil, fmt.Errorf("planning an ext file system: time %s is outside what its 32-bit timestamps hold (1970 to 2038-01-19)", o.MTime.UTC().Format(time.RFC3339))
	}
	nodes, err := buildNodes(tree, o.FSType)
	if err != nil {
		return nil, err
	}
	x := &Ext{fsType: o.FSType, inodeSize: 128}
	if !o.MTime.IsZero() {
		x.mtime = uint32(o.MTime.Unix())
	}
	if o.FSType == "ext4" {
		x.inodeSize = 256
	}
	x.uuid, x.seed = identity(o.FSType, tree)
	if o.Size > 0 {
		blocks := o.Size / blockSize
		if blocks > maxBlocks {
			return nil, &MaxSizeError{Size: o.Size, Max: maxSize}
		}
		err := x.layout(uint32(blocks), nodes)
		if errors.Is(err, errNoSpace) {
			need, err := fitBlocks(x, nodes)
			if err != nil {
				return nil, err
			}
			return nil, &SizeError{Size: o.Size, Need: int64(need) * blockSize}
		}
		if err != nil {
			return nil, err
		}
		x.size = o.Size
		return x, nil
	}
	need, err := fitBlocks(x, nodes)
	if err != nil {
		return nil, err
	}
	total := uint64(need) + uint64(need)/4 + minBlocks
	total = min((total+minBlocks-1)/minBlocks*minBlocks, maxBlocks)
	for {
		err := x.layout(uint32(total), nodes)
		if err == nil {
			break
		}
		if !errors.Is(err, errNoSpace) {
			return nil, err
		}
		if total == maxBlocks {
			return nil, &MaxSizeError{Max: maxSize}
		}
		total = min(total+minBlocks, maxBlocks)
	}
	x.size = int64(x.blocks) * blockSize
	return x, nil
}

// fitBlocks returns the fewest blocks that hold nodes: a *MaxSizeError if
// even the largest file system does not, or the *LimitError of an entry
// that fits none.
func fitBlocks(x *Ext, nodes []*node) (uint32, error) {
	fits := func(blocks uint64) (bool, error) {
		err := x.layout(uint32(blocks), nodes)
		if err != nil && !errors.Is(err, errNoSpace) {
			return false, err
		}
		return err == nil, nil
	}
	if ok, err := fits(maxBlocks); err != nil || !ok {
		if err == nil {
			err = &MaxSizeError{Max: maxSize}
		}
		return 0, err
	}
	lo, hi := uint64(1), uint64(minBlocks)
	for {
		ok, err := fits(hi)
		if err != nil {
			return 0, err
		}
		if ok {
			break
		}
		lo, hi = hi, min(hi*2, maxBlocks)
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		ok, err := fits(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return uint32(hi), nil
}

// buildNodes makes the inodes: root, lost+found, then tree's entries. It
// refuses an entry that an ext file system of type fsType cannot hold.
func buildNodes(tree []image.Entry, fsType string) ([]*node, error) {
	root := &node{ino: rootInode, parent: rootInode, entry: image.Entry{Path: "/", Type: image.Directory}}
	lf := &node{ino: lostFoundInode, parent: rootInode, entry: image.Entry{Path: "/lost+found", Type: image.Directory}}
	nodes := []*node{root, lf}
	dirs := map[string]*node{"/": root}
	root.children = append(root.children, lf)
	if uint64(len(tree))+firstInode > math.MaxUint32 {
		return nil, fmt.Errorf("planning an ext file system: %d entries is more than its 32-bit inode numbers count", len(tree))
	}
	for i, e := range tree {
		if err := checkEntry(e, fsType); err != nil {
			return nil, err
		}
		parent, ok := dirs[path.Dir(e.Path)]
		if !ok {
			return nil, fmt.Errorf("rootfs path %s: its directory is not in the tree (use Tree)", shorten(e.Path))
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
		links := 2
		for _, c := range n.children {
			if c.entry.Type == image.Directory {
				links++
			}
		}
		if links > maxLinks {
			return nil, &LimitError{Path: n.entry.Path, Reason: fmt.Sprintf("%d subdirectories in one directory: an ext directory without dir_nlink has at most %d (%d links)", links-2, maxLinks-2, maxLinks)}
		}
		n.nlink = uint16(links)
		blocks := len(packDir(n.dirNames())) / blockSize
		if err := checkDirLen(n.entry.Path, blocks); err != nil {
			return nil, err
		}
		n.dirLen = uint32(blocks)
	}
	return nodes, nil
}

// checkEntry refuses an entry whose name, symlink target or size an ext
// file system of type fsType cannot hold, or one that would hide what the
// file system makes itself.
func checkEntry(e image.Entry, fsType string) error {
	if e.Path == "/lost+found" || strings.HasPrefix(e.Path, "/lost+found/") {
		return &LimitError{Path: e.Path, Reason: "/lost+found is made by the file system itself (ext2/ext4 writes it): put the files elsewhere"}
	}
	l := entryLimits{
		name:      path.Base,
		maxName:   maxNameLen,
		nameLong:  "its name is %d bytes: an ext file name is at most %d",
		nameNUL:   "the name holds a NUL byte, which no ext file name can",
		maxLink:   maxSymlinkLen,
		linkEmpty: "the symlink's target is empty, which an ext symlink cannot be",
		linkLong:  "the symlink's target is %d bytes: an ext symlink's is at most %d",
		linkNUL:   "the symlink's target holds a NUL byte, which no ext symlink can",
		maxSize:   maxFileSize(fsType),
		sizeLong:  "the file is %d bytes: an " + fsType + " file of 4 KiB blocks without huge_file is at most %d",
	}
	return l.check(e)
}

// checkDirLen refuses a directory of more than maxDirBlocks blocks.
func checkDirLen(p string, blocks int) error {
	if blocks > maxDirBlocks {
		return &LimitError{Path: p, Reason: fmt.Sprintf("the directory's entries take %d bytes: an ext directory without large_dir is under 2 GiB", blocks*blockSize)}
	}
	return nil
}

// maxFileSize returns the largest regular file an fsType file system holds:
// without huge_file, i_blocks counts at most maxSectors sectors, a file's
// data and mapping blocks together. For ext2 this is what Linux's
// ext2_max_size computes, the block map taken out; ext4's extent tree is
// checked by layout, which knows how the file is split.
func maxFileSize(fsType string) int64 {
	upper := uint32(maxSectors / (blockSize / 512))
	if fsType == "ext4" {
		return int64(upper) * blockSize
	}
	return int64(upper-ext2MetaLen(upper)) * blockSize
}

// identity derives the UUID and directory hash seed from the tree, so that
// they are fixed for the same content and differ between different ones.
func identity(fsType string, tree []image.Entry) (uuid, seed [16]byte) {
	h := sha256.New()
	fmt.Fprintf(h, "bunix %s\x00", fsType)
	for _, e := range tree {
		fmt.Fprintf(h, "%s\x00%o\x00%d\x00%s\x00", e.Path, e.Mode(), e.Size, e.Linkname)
	}
	sum := h.Sum(nil)
	copy(uuid[:], sum[:16])
	copy(seed[:], sum[16:])
	uuid[6] = uuid[6]&0x0f | 0x50 // version 5: name-based
	uuid[8] = uuid[8]&0x3f | 0x80 // RFC 4122 variant
	return uuid, seed
}
