package sbom

import (
	"bytes"
	"context"
	"io"
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
