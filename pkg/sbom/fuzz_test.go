package sbom

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
)

// FuzzInitrd: any initrd bytes give a list or an error, never a panic or a
// hang.
func FuzzInitrd(f *testing.F) {
	f.Add([]byte("070701" + "00000001000081a4000000000000000000000001000000000000000300000000000000000000000000000000000000050000000" + "init\x00\x00abc\x00"))
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3})
	f.Add([]byte("070701garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &generator{ctx: context.Background(), doc: &Document{}}
		g.initrdFiles(bytes.NewReader(data))
	})
}

// FuzzExt: any block image bytes give a list or an error, never a panic
// or a hang.
func FuzzExt(f *testing.F) {
	sb := make([]byte, 4096)
	copy(sb[1024+0x38:], []byte{0x53, 0xef})
	f.Add(sb)
	f.Fuzz(func(t *testing.T, data []byte) {
		fs, err := openExt(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		fs.contentLeft = 1 << 20
		fs.walk(func(_ string, ino *extInode) error {
			r := ino.reader()
			defer r.Close()
			_, err := io.Copy(io.Discard, io.LimitReader(r, 1<<20))
			return err
		})
	})
}

// TestInitrdBomb: a gzip initrd that unpacks to more than
// maxInitrdUnpacked is refused once it has, not read to its end.
func TestInitrdBomb(t *testing.T) {
	defer func(n int64) { maxInitrdUnpacked = n }(maxInitrdUnpacked)
	maxInitrdUnpacked = 1 << 20
	var cpio bytes.Buffer
	size := 4 << 20
	fmt.Fprintf(&cpio, "070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x", 1, 0o100644, 0, 0, 1, 0, size, 0, 0, 0, 0, 5, 0)
	cpio.WriteString("zero\x00")
	for cpio.Len()%4 != 0 {
		cpio.WriteByte(0)
	}
	cpio.Write(make([]byte, size))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(cpio.Bytes())
	zw.Close()
	g := &generator{ctx: context.Background(), doc: &Document{}}
	if _, err := g.initrdFiles(bytes.NewReader(gz.Bytes())); err == nil || !strings.Contains(err.Error(), "unpacks to more than 1048576 bytes") {
		t.Errorf("a 4 MiB initrd under a 1 MiB cap: %v", err)
	}
	maxInitrdUnpacked = 8 << 20
	files, err := g.initrdFiles(bytes.NewReader(gz.Bytes()))
	if err != nil || len(files) != 1 || files[0].path != "/zero" || files[0].size != int64(size) {
		t.Errorf("under an 8 MiB cap: %v, %v", files, err)
	}
}
