package rootfs

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
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
	ext := make([]byte, 2048)
	binary.LittleEndian.PutUint16(ext[extMagicOffset:], extMagic)
	ext4 := bytes.Clone(ext)
	binary.LittleEndian.PutUint32(ext4[superblockOffset+96:], incompatExtents)
	for _, seed := range [][]byte{nil, []byte("070701"), []byte("070702xx"), gz.Bytes(), gz.Bytes()[:12], ext, ext4, ext[:1082], []byte("\x1f\x8b")} {
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
			}
		default:
			t.Errorf("unknown kind %v without an error", kind)
		}
	})
}

func TestDetectOpens(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x")
	os.WriteFile(p, []byte("070701"), 0o644)
	if k, err := Detect(p); k != CPIO || err != nil {
		t.Errorf("Detect(cpio file) = %v, %v", k, err)
	}
}
