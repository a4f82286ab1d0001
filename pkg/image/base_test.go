package image

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/nubificus/bunix/internal/testenv"
)

// TestZstdBaseRefusedFromFirstBytes: a base whose layer is zstd, opened
// to be written as a docker-archive (WrittenAs), is refused from the
// layer's first bytes, naming the layer and the formats that can hold it:
// the layer's bytes after its magic are garbage, which reading it whole
// would have found first. Written as oci-archive the garbage is found.
func TestZstdBaseRefusedFromFirstBytes(t *testing.T) {
	idx, img := testenv.BaseImage(t, compression.ZStd, "")
	dir := t.TempDir()
	if _, err := layout.Write(dir, idx); err != nil {
		t.Fatal(err)
	}
	m, _ := img.Manifest()
	blob := filepath.Join(dir, "blobs", "sha256", m.Layers[0].Digest.Hex)
	data, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	for i := 4; i < len(data); i++ {
		data[i] = 0xff
	}
	if err := os.WriteFile(blob, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = OpenBase(f, "base", Want{Architecture: "amd64"}, WrittenAs(DockerArchive))
	want := `layer 0 (` + m.Layers[0].Digest.String() + `) is zstd-compressed, which the docker-archive format cannot hold (docker load refuses it): write format = "oci-archive" or format = "oci"`
	var inv *InvalidError
	if !errors.As(err, &inv) || !strings.Contains(err.Error(), want) {
		t.Errorf("OpenBase as docker-archive = %v, want %q", err, want)
	}
	if _, err := OpenBase(f, "base", Want{Architecture: "amd64"}, WrittenAs(OCIArchive)); err == nil || strings.Contains(err.Error(), "cannot hold") {
		t.Errorf("OpenBase as oci-archive of a corrupt layer = %v, want the corruption found", err)
	}
}
