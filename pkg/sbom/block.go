package sbom

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
)

// blockFiles lists the regular files of a block image read from r, an ext2,
// ext3 or ext4 file system. It spools r to an unnamed temporary file,
// since a file system is read at random; r is read to its end.
func (g *generator) blockFiles(r io.Reader) ([]*layerFile, error) {
	tmp, err := os.CreateTemp(g.o.tempDir, ".bunix-sbom-block-*")
	if err != nil {
		return nil, fmt.Errorf("spooling the block image: %w", err)
	}
	os.Remove(tmp.Name())
	defer tmp.Close()
	size, err := io.Copy(tmp, r)
	if err != nil {
		return nil, fmt.Errorf("spooling the block image: %w", err)
	}
	fs, err := openExt(tmp, size)
	if err != nil {
		return nil, err
	}
	var out []*layerFile
	err = fs.walk(func(p string, ino *extInode) error {
		r := ino.reader()
		f, err := g.inner(p, "the block image", r)
		r.Close()
		if err != nil {
			return err
		}
		out = append(out, f)
		return nil
	})
	return out, err
}

// ext superblock and inode constants (the ext4 disk layout).
const (
	extSuperOffset  = 1024
	extMagic        = 0xEF53
	extRootInode    = 2
	extIncompatType = 0x2
	extIncompatMeta = 0x10
	extIncompat64   = 0x80
	extIncompatExt  = 0x40
	extExtentsFlag  = 0x80000
	extInlineFlag   = 0x10000000
	extExtentMagic  = 0xF30A
	extMaxDepth     = 5
	extMaxDirDepth  = 64
	modeDir         = 0o040000
)

// extFS is an ext file system in a file.
type extFS struct {
	r                   io.ReaderAt
	size                int64
	blockSize           int64
	inodesPerGroup      uint32
	inodeCount          uint32
	inodeSize           int64
	descSize            int64
	gdt                 int64 // byte offset of the group descriptor table
	groups              uint32
	fileType, is64, ext bool
	// contentLeft is how many bytes of files and directories walk may
	// still read: a file system can name one inode from many entries, and
	// a sparse file or directory can claim more than the image holds.
	contentLeft int64
}

// extSlack is what walk may read past 4 times the image's size.
var extSlack int64 = 1 << 30

// ErrNotExt is the error (wrapped) for a block image that is not an ext
// file system bunix can read.
var ErrNotExt = errors.New("not an ext2/3/4 file system bunix reads")

func openExt(r io.ReaderAt, size int64) (*extFS, error) {
	var sb [1024]byte
	if _, err := r.ReadAt(sb[:], extSuperOffset); err != nil {
		return nil, fmt.Errorf("%w: reading the superblock: %v", ErrNotExt, err)
	}
	le := binary.LittleEndian
	if le.Uint16(sb[0x38:]) != extMagic {
		return nil, fmt.Errorf("%w: no ext magic 0xEF53 in the superblock", ErrNotExt)
	}
	logBS := le.Uint32(sb[0x18:])
	if logBS > 6 {
		return nil, fmt.Errorf("%w: block size 1024<<%d", ErrNotExt, logBS)
	}
	fs := &extFS{r: r, size: size, blockSize: 1024 << logBS, inodeCount: le.Uint32(sb[0:]), inodesPerGroup: le.Uint32(sb[0x28:]), inodeSize: 128, descSize: 32}
	if le.Uint32(sb[0x4C:]) >= 1 {
		fs.inodeSize = int64(le.Uint16(sb[0x58:]))
	}
	incompat := le.Uint32(sb[0x60:])
	fs.fileType, fs.is64, fs.ext = incompat&extIncompatType != 0, incompat&extIncompat64 != 0, incompat&extIncompatExt != 0
	if fs.is64 {
		fs.descSize = int64(le.Uint16(sb[0xFE:]))
	}
	switch {
	case incompat&extIncompatMeta != 0:
		return nil, fmt.Errorf("%w: meta_bg group descriptors", ErrNotExt)
	case fs.inodesPerGroup == 0 || fs.inodeSize < 128 || fs.inodeSize > fs.blockSize || fs.descSize < 32 || fs.descSize > 1024:
		return nil, fmt.Errorf("%w: inodes per group %d, inode size %d, descriptor size %d", ErrNotExt, fs.inodesPerGroup, fs.inodeSize, fs.descSize)
	}
	fs.groups = (fs.inodeCount + fs.inodesPerGroup - 1) / fs.inodesPerGroup
	fs.contentLeft = 4*size + extSlack
	fs.gdt = (int64(le.Uint32(sb[0x14:])) + 1) * fs.blockSize
	return fs, nil
}

// extInode is an inode read from the file system.
type extInode struct {
	fs    *extFS
	mode  uint16
	size  int64
	flags uint32
	block [60]byte
}

func (fs *extFS) inode(n uint32) (*extInode, error) {
	if n < 1 || n > fs.inodeCount {
		return nil, fmt.Errorf("inode %d out of range (1 to %d)", n, fs.inodeCount)
	}
	group, index := (n-1)/fs.inodesPerGroup, int64((n-1)%fs.inodesPerGroup)
	var d [64]byte
	if _, err := fs.r.ReadAt(d[:min(fs.descSize, 64)], fs.gdt+int64(group)*fs.descSize); err != nil {
		return nil, fmt.Errorf("reading group descriptor %d: %w", group, err)
	}
	le := binary.LittleEndian
	table := int64(le.Uint32(d[0x08:]))
	if fs.is64 && fs.descSize >= 64 {
		table |= int64(le.Uint32(d[0x28:])) << 32
	}
	buf := make([]byte, 0x70)
	if _, err := fs.r.ReadAt(buf, table*fs.blockSize+index*fs.inodeSize); err != nil {
		return nil, fmt.Errorf("reading inode %d: %w", n, err)
	}
	ino := &extInode{fs: fs, mode: le.Uint16(buf[0:]), size: int64(le.Uint32(buf[4:])) | int64(le.Uint32(buf[0x6C:]))<<32, flags: le.Uint32(buf[0x20:])}
	copy(ino.block[:], buf[0x28:0x28+60])
	if ino.size < 0 || ino.size > fs.size*64 {
		return nil, fmt.Errorf("inode %d: size %d", n, ino.size)
	}
	return ino, nil
}

// extent maps count blocks of a file from logical block logical to the
// physical block physical; zero reads as zeros (a hole, or an extent not
// yet written).
type extent struct {
	logical, physical, count int64
	zero                     bool
}

// extents returns ino's block map.
func (ino *extInode) extents() ([]extent, error) {
	fs := ino.fs
	if ino.flags&extInlineFlag != 0 {
		return nil, errors.New("inline data is not read")
	}
	maxBlocks := (ino.size + fs.blockSize - 1) / fs.blockSize
	var out []extent
	if ino.flags&extExtentsFlag != 0 {
		budget := maxBlocks + 16 // extent blocks read: a tree has fewer than its file has blocks
		if err := fs.extentNode(ino.block[:], extMaxDepth, maxBlocks, &budget, &out); err != nil {
			return nil, err
		}
		return out, nil
	}
	le := binary.LittleEndian
	var logical int64
	var walk func(block uint32, level int) error
	walk = func(block uint32, level int) error {
		per := fs.blockSize / 4
		if level == 0 {
			if block != 0 {
				out = append(out, extent{logical: logical, physical: int64(block), count: 1})
			}
			logical++
			return nil
		}
		span := int64(1)
		for range level {
			span *= per
		}
		if block == 0 {
			logical += span
			return nil
		}
		buf := make([]byte, fs.blockSize)
		if _, err := fs.r.ReadAt(buf, int64(block)*fs.blockSize); err != nil {
			return fmt.Errorf("reading indirect block %d: %w", block, err)
		}
		for i := int64(0); i < per && logical < maxBlocks; i++ {
			if err := walk(le.Uint32(buf[4*i:]), level-1); err != nil {
				return err
			}
		}
		return nil
	}
	for i := 0; i < 15 && logical < maxBlocks; i++ {
		level := max(i-11, 0)
		if err := walk(le.Uint32(ino.block[4*i:]), level); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// extentNode reads an extent tree node (header and entries) in b.
// At most *budget more extent blocks are read below it.
func (fs *extFS) extentNode(b []byte, depthLeft int, maxBlocks int64, budget *int64, out *[]extent) error {
	le := binary.LittleEndian
	if len(b) < 12 || le.Uint16(b[0:]) != extExtentMagic {
		return errors.New("an extent node without its magic 0xF30A")
	}
	n, depth := int(le.Uint16(b[2:])), int(le.Uint16(b[6:]))
	if 12+12*n > len(b) || depth > depthLeft {
		return fmt.Errorf("an extent node of %d entries at depth %d", n, depth)
	}
	for i := range n {
		e := b[12+12*i:]
		if depth == 0 {
			count := int64(le.Uint16(e[4:]))
			zero := count > 32768
			if zero {
				count -= 32768
			}
			*out = append(*out, extent{logical: int64(le.Uint32(e[0:])), physical: int64(le.Uint16(e[6:]))<<32 | int64(le.Uint32(e[8:])), count: count, zero: zero})
			if len(*out) > int(maxBlocks)+1 {
				return errors.New("more extents than the file has blocks")
			}
			continue
		}
		leaf := int64(le.Uint32(e[4:])) | int64(le.Uint16(e[8:]))<<32
		if *budget--; *budget < 0 {
			return errors.New("an extent tree with more nodes than its file has blocks")
		}
		buf := make([]byte, fs.blockSize)
		if _, err := fs.r.ReadAt(buf, leaf*fs.blockSize); err != nil {
			return fmt.Errorf("reading extent block %d: %w", leaf, err)
		}
		if err := fs.extentNode(buf, depth-1, maxBlocks, budget, out); err != nil {
			return err
		}
	}
	return nil
}

// reader returns ino's content; close it when done.
func (ino *extInode) reader() io.ReadCloser {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(ino.copyTo(pw)) }()
	return pr
}

// copyTo writes ino's content, ino.size bytes, to w.
func (ino *extInode) copyTo(w io.Writer) error {
	fs := ino.fs
	exts, err := ino.extents()
	if err != nil {
		return err
	}
	zeros := make([]byte, fs.blockSize)
	buf := make([]byte, fs.blockSize)
	var done int64
	for _, e := range exts {
		for i := int64(0); i < e.count && done < ino.size; i++ {
			at := (e.logical + i) * fs.blockSize
			if at < done {
				return fmt.Errorf("extents out of order at logical block %d", e.logical+i)
			}
			for done < at && done < ino.size {
				n := min(at-done, ino.size-done, fs.blockSize)
				if _, err := w.Write(zeros[:n]); err != nil {
					return err
				}
				done += n
			}
			n := min(fs.blockSize, ino.size-done)
			if n <= 0 {
				break
			}
			b := buf[:n]
			if e.zero {
				b = zeros[:n]
			} else if _, err := fs.r.ReadAt(b, (e.physical+i)*fs.blockSize); err != nil {
				return fmt.Errorf("reading block %d: %w", e.physical+i, err)
			}
			if _, err := w.Write(b); err != nil {
				return err
			}
			done += n
		}
	}
	for done < ino.size {
		n := min(ino.size-done, fs.blockSize)
		if _, err := w.Write(zeros[:n]); err != nil {
			return err
		}
		done += n
	}
	return nil
}

// walk calls f for each regular file, by path, in directory order from the
// root; a directory is entered once.
func (fs *extFS) walk(f func(string, *extInode) error) error {
	seen := map[uint32]bool{}
	var dir func(p string, n uint32, depth int) error
	dir = func(p string, n uint32, depth int) error {
		if seen[n] {
			return nil
		}
		seen[n] = true
		if depth > extMaxDirDepth {
			return fmt.Errorf("%s: directories nested more than %d deep", p, extMaxDirDepth)
		}
		ino, err := fs.inode(n)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if ino.mode&modeType != modeDir {
			return fmt.Errorf("%s: inode %d is not a directory", p, n)
		}
		if fs.contentLeft -= ino.size; fs.contentLeft < 0 {
			return fmt.Errorf("%s: the directories and files add up to more than 4 times the block image and 1 GiB", p)
		}
		pr := ino.reader()
		data, err := io.ReadAll(io.LimitReader(pr, 64<<20))
		pr.Close()
		if err != nil {
			return fmt.Errorf("%s: reading the directory: %w", p, err)
		}
		le := binary.LittleEndian
		for off := 0; off+8 <= len(data); {
			child, recLen := le.Uint32(data[off:]), int(le.Uint16(data[off+4:]))
			nameLen := int(data[off+6])
			if !fs.fileType {
				nameLen |= int(data[off+7]) << 8
			}
			if recLen < 8 || off+recLen > len(data) || 8+nameLen > recLen {
				return fmt.Errorf("%s: a directory entry at byte %d of length %d", p, off, recLen)
			}
			name := string(data[off+8 : off+8+nameLen])
			off += recLen
			if child == 0 || name == "." || name == ".." || name == "" {
				continue
			}
			cp := path.Join(p, name)
			ci, err := fs.inode(child)
			if err != nil {
				return fmt.Errorf("%s: %w", cp, err)
			}
			switch ci.mode & modeType {
			case modeDir:
				if err := dir(cp, child, depth+1); err != nil {
					return err
				}
			case modeRegular:
				if fs.contentLeft -= ci.size; fs.contentLeft < 0 {
					return fmt.Errorf("%s: the files add up to more than 4 times the block image and 1 GiB (hard links to large files, or sparse ones)", cp)
				}
				if err := f(cp, ci); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return dir("/", extRootInode, 0)
}
