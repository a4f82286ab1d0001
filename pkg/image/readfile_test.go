package image

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"
)

// TestBaseReadFile reads a regular file of a base back, refuses one over
// the size cap, a symlink and a path the base does not hold.
func TestBaseReadFile(t *testing.T) {
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	tw.WriteHeader(&tar.Header{Name: "urunit", Typeflag: tar.TypeReg, Mode: 0o755, Size: 6})
	tw.Write([]byte("urunit"))
	tw.WriteHeader(&tar.Header{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "/urunit"})
	tw.Close()
	file, err := openAssembled(false, []byte(seedIndex), []byte(seedManifest), []byte(seedConfig), layer.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	b, err := OpenBase(file, "base", Want{Architecture: "amd64"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if data, err := b.ReadFile(ctx, "/urunit", 6); err != nil || string(data) != "urunit" {
		t.Errorf("ReadFile(/urunit) = %q, %v", data, err)
	}
	if _, err := b.ReadFile(ctx, "/urunit", 5); err == nil || !strings.Contains(err.Error(), "/urunit is 6 bytes, more than the 5 bunix reads") {
		t.Errorf("over the cap: %v", err)
	}
	for _, p := range []string{"/link", "/nope"} {
		if _, err := b.ReadFile(ctx, p, 10); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("ReadFile(%s): %v", p, err)
		}
	}
}
