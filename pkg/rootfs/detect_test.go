package rootfs

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDetectFIFO: a FIFO where a rootfs file should be is an error at once,
// not a read that waits forever for a writer.
func TestDetectFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := Detect(p); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "is not a regular file (it is a named pipe (FIFO))") {
			t.Errorf("Detect(FIFO) = %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Detect blocked on a FIFO")
	}
	if _, err := Detect(filepath.Dir(p)); err == nil || !strings.Contains(err.Error(), "it is a directory") {
		t.Errorf("Detect(directory) = %v", err)
	}
}

// FuzzDetect feeds Detect's decoder any bytes: it never panics, and a kind
// it names agrees with the magic it saw.
func FuzzDetect(f *testing.F) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("070701000000"))
	zw.Close()
	ext := extHead(2, 0, 0)
	ext4 := bytes.Clone(ext)
	binary.LittleEndian.PutUint32(ext4[superblockOffset+96:], incompatExtents|incompat64bit)
	zeros := make([]byte, 2048)
	binary.LittleEndian.PutUint16(zeros[extMagicOffset:], extMagic)
	for _, seed := range [][]byte{nil, []byte("070701"), []byte("070702xx"), gz.Bytes(), gz.Bytes()[:12], ext, ext4, ext[:1082], zeros, extHead(3, 0, 0), extHead(2, 7, 0), extHead(2, 0, 2), []byte("\x1f\x8b")} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		kind, err := detect(bytes.NewReader(data), "fuzz")
		if err != nil {
			if kind != 0 {
				t.Errorf("kind %v with error %v", kind, err)
			}
			return
		}
		switch kind {
		case CPIO:
			if !bytes.HasPrefix(data, []byte("07070")) {
				t.Errorf("cpio without its magic: %q", data[:min(len(data), 8)])
			}
		case GzipCPIO:
			if !bytes.HasPrefix(data, gzipMagic) {
				t.Errorf("gzip without its magic: %q", data[:min(len(data), 8)])
			}
		case Ext2, Ext3, Ext4:
			if len(data) < extMagicOffset+2 || binary.LittleEndian.Uint16(data[extMagicOffset:]) != extMagic {
				t.Errorf("%v without the ext magic", kind)
				return
			}
			// The superblock is whole and possible: its block size,
			// counts and revision, and the blocks it counts are in
			// the file.
			le := binary.LittleEndian
			sb := data[superblockOffset:]
			if len(sb) < superblockSize {
				t.Fatalf("%v of %d bytes, with the superblock cut short", kind, len(data))
			}
			logBlock, blocks := le.Uint32(sb[24:]), uint64(le.Uint32(sb[4:]))
			if le.Uint32(sb[96:])&incompat64bit != 0 {
				blocks |= uint64(le.Uint32(sb[0x150:])) << 32
			}
			if logBlock > 6 || le.Uint32(sb[0:]) == 0 || blocks == 0 || le.Uint32(sb[76:]) > 1 ||
				new(big.Int).Mul(new(big.Int).SetUint64(blocks), big.NewInt(1024<<logBlock)).Cmp(big.NewInt(int64(len(data)))) > 0 {
				t.Errorf("%v with an impossible superblock: log block size %d, %d inodes, %d blocks, revision %d, %d bytes",
					kind, logBlock, le.Uint32(sb[0:]), blocks, le.Uint32(sb[76:]), len(data))
			}
		default:
			t.Errorf("unknown kind %v without an error", kind)
		}
	})
}

// extHead returns the first blocks blocks of 1 KiB of an ext2 file
// system whose superblock counts them, 16 inodes, a block size of
// 1024<<logBlock and revision rev: zeros but for those.
func extHead(blocks, logBlock, rev uint32) []byte {
	b := make([]byte, blocks*1024)
	le := binary.LittleEndian
	le.PutUint16(b[extMagicOffset:], extMagic)
	le.PutUint32(b[superblockOffset:], 16)
	le.PutUint32(b[superblockOffset+4:], blocks)
	le.PutUint32(b[superblockOffset+24:], logBlock)
	le.PutUint32(b[superblockOffset+76:], rev)
	return b
}

// TestDetectSuperblock: a file with the ext magic is an ext file system
// only when its superblock could be one: a block size of 1 to 64 KiB, some
// inodes, some blocks, all in the file, and a revision ext knows. Zeros
// with the magic are refused, saying what is wrong.
func TestDetectSuperblock(t *testing.T) {
	le := binary.LittleEndian
	set := func(b []byte, off int, v uint32) []byte { le.PutUint32(b[superblockOffset+off:], v); return b }
	zeros := make([]byte, 8192)
	le.PutUint16(zeros[extMagicOffset:], extMagic)
	for _, tc := range []struct {
		name string
		data []byte
		want string // "" for Ext2
	}{
		{"whole", extHead(2, 0, 1), ""},
		{"revision 0", extHead(4, 0, 0), ""},
		{"more file than blocks", append(extHead(2, 0, 1), make([]byte, 4096)...), ""},
		{"zeros with the magic", zeros, "its superblock counts 0 inodes"},
		{"no blocks", set(extHead(2, 0, 0), 4, 0), "its superblock counts 0 blocks"},
		{"no inodes", set(extHead(2, 0, 0), 0, 0), "its superblock counts 0 inodes"},
		{"block size 128 KiB", extHead(2, 7, 0), "a block size of 2^(10+7) bytes (s_log_block_size 7), where ext takes 1 KiB to 64 KiB"},
		{"block size 2^(10+2^32-1)", extHead(2, 1<<32-1, 0), "s_log_block_size 4294967295"},
		{"revision 2", extHead(2, 0, 2), "has revision 2 (s_rev_level), where ext has 0 and 1"},
		{"cut short", set(extHead(2, 0, 0), 4, 3), "counts 3 blocks of 1024 bytes, more than the file's 2048 bytes hold"},
		{"4 KiB blocks in 2 KiB", extHead(2, 2, 0)[:2048], "counts 2 blocks of 4096 bytes, more than the file's 2048 bytes hold"},
		{"64-bit count beyond the file", set(set(extHead(2, 0, 0), 96, incompat64bit), 0x150, 1), "counts 4294967298 blocks of 1024 bytes"},
		{"superblock cut short", extHead(2, 0, 0)[:1500], "ends at byte 1500, inside its superblock"},
	} {
		kind, err := detect(bytes.NewReader(tc.data), "r.ext")
		if tc.want == "" {
			if err != nil || kind != Ext2 {
				t.Errorf("%s: %v, %v; want ext2", tc.name, kind, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "r.ext has the ext magic 0xEF53") {
			t.Errorf("%s: %v, %v\nwant %q", tc.name, kind, err, tc.want)
		}
	}
}

func TestDetectOpens(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x")
	os.WriteFile(p, []byte("070701"), 0o644)
	if k, err := Detect(p); k != CPIO || err != nil {
		t.Errorf("Detect(cpio file) = %v, %v", k, err)
	}
}
