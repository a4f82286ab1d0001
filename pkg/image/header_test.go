package image

import (
	"archive/tar"
	"bytes"
	"strings"
	"testing"
	"time"
)

// archiveTarHeader is what archive/tar itself writes for h.
func archiveTarHeader(h *tar.Header) ([]byte, error) {
	var buf bytes.Buffer
	err := tar.NewWriter(&buf).WriteHeader(h)
	return buf.Bytes(), err
}

// FuzzAppendHeader holds bunix's own USTAR blocks to archive/tar's bytes:
// whatever the header, appendHeader writes what archive/tar writes, and
// fails where it fails.
func FuzzAppendHeader(f *testing.F) {
	f.Add("usr/bin/", "", byte(tar.TypeDir), int64(0o755), int64(0), int64(1), int64(0))
	f.Add("usr/bin/sh", "", byte(tar.TypeReg), int64(0o755), int64(12345), int64(1700000000), int64(0))
	f.Add("lib", "usr/lib", byte(tar.TypeSymlink), int64(0o777), int64(0), int64(0), int64(0))
	f.Add(strings.Repeat("a", 100), strings.Repeat("b", 100), byte(tar.TypeSymlink), int64(0o777), int64(0), int64(0), int64(0))
	f.Add(strings.Repeat("a", 101), "", byte(tar.TypeReg), int64(0o644), int64(1), int64(0), int64(0))
	f.Add("big", "", byte(tar.TypeReg), int64(0o644), int64(1<<33-1), int64(1<<33-1), int64(499999999))
	f.Add("big", "", byte(tar.TypeReg), int64(0o644), int64(1<<33), int64(5), int64(0))
	f.Add("late", "", byte(tar.TypeReg), int64(1<<21), int64(0), int64(1<<33), int64(0))
	f.Add("later", "", byte(tar.TypeReg), int64(0o644), int64(0), int64(1<<33-1), int64(500000000))
	f.Add("héllo", "", byte(tar.TypeReg), int64(0o644), int64(0), int64(-1), int64(0))
	f.Add("dir/", "", byte(tar.TypeReg), int64(0o644), int64(0), int64(0), int64(0))
	f.Add("", "", byte(tar.TypeDir), int64(0o7777777), int64(-1), int64(0), int64(0))
	f.Add("nul\x00", "", byte(tar.TypeFifo), int64(1<<21), int64(0), int64(0), int64(0))
	f.Fuzz(func(t *testing.T, name, link string, typ byte, mode, size, sec, nsec int64) {
		h := &tar.Header{Name: name, Linkname: link, Typeflag: typ, Mode: mode, Size: size, ModTime: time.Unix(sec, nsec)}
		if sec == 0 && nsec == 0 {
			h.ModTime = time.Time{}
		}
		want, wantErr := archiveTarHeader(h)
		got, err := appendHeader([]byte("kept"), h)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%+v: appendHeader: %v, archive/tar: %v", h, err, wantErr)
		}
		if err != nil {
			return
		}
		if !bytes.HasPrefix(got, []byte("kept")) {
			t.Fatalf("%+v: appendHeader lost what dst held", h)
		}
		if got = got[len("kept"):]; !bytes.Equal(got, want) {
			t.Fatalf("%+v:\nappendHeader %q\narchive/tar  %q", h, got, want)
		}
	})
}

// TestPlainUSTARTaken checks the fast path is the one headers of a layer
// take, and archive/tar's the one they leave to it: a test of the speed-up
// itself, which FuzzAppendHeader cannot see.
func TestPlainUSTARTaken(t *testing.T) {
	for _, c := range []struct {
		h    tar.Header
		fast bool
	}{
		{tar.Header{Name: "usr/bin/sh", Typeflag: tar.TypeReg, Mode: 0o755, Size: 9 << 20, ModTime: DefaultCreated}, true},
		{tar.Header{Name: "usr/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: DefaultCreated}, true},
		{tar.Header{Name: "lib", Linkname: "usr/lib", Typeflag: tar.TypeSymlink, Mode: 0o777}, true},
		{tar.Header{Name: strings.Repeat("d/", 60), Typeflag: tar.TypeDir}, false}, // a prefix
		{tar.Header{Name: "big", Typeflag: tar.TypeReg, Size: 9 << 30}, false},     // PAX size
		{tar.Header{Name: "é", Typeflag: tar.TypeReg}, false},                      // PAX path
		{tar.Header{Name: "dev", Typeflag: tar.TypeChar}, false},
		{tar.Header{Name: "f", Typeflag: tar.TypeReg, Uid: 1}, false},
	} {
		if _, fast := plainUSTAR(&c.h); fast != c.fast {
			t.Errorf("plainUSTAR(%q, type %q): %v, want %v", c.h.Name, c.h.Typeflag, fast, c.fast)
		}
		got, err := appendHeader(nil, &c.h)
		want, wantErr := archiveTarHeader(&c.h)
		if err != nil || wantErr != nil || !bytes.Equal(got, want) {
			t.Errorf("%q: appendHeader %d bytes (%v), archive/tar %d bytes (%v)", c.h.Name, len(got), err, len(want), wantErr)
		}
	}
}
