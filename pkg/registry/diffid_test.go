package registry

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/nubificus/bunix/pkg/image"
)

// dockerArchive writes a docker-archive of one layer, layer (a tar, gzip
// compressed when gz), whose config declares diffID, and returns its path.
func dockerArchive(t *testing.T, layer []byte, gz bool, diffID string) string {
	t.Helper()
	member := layer
	if gz {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(layer)
		zw.Close()
		member = b.Bytes()
	}
	config, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{diffID}},
	})
	manifest, _ := json.Marshal([]map[string]any{{"Config": "config.json", "RepoTags": []string{"urunc/d:1"}, "Layers": []string{"layer.tar"}}})
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, m := range []struct {
		name string
		data []byte
	}{{"config.json", config}, {"layer.tar", member}, {"manifest.json", manifest}} {
		tw.WriteHeader(&tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.data)), Typeflag: tar.TypeReg})
		tw.Write(m.data)
	}
	tw.Close()
	p := filepath.Join(t.TempDir(), "d.tar")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// layerTar is a layer holding one file of contents data.
func layerTar(data string) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	tw.WriteHeader(&tar.Header{Name: "unikernel/kernel", Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg})
	tw.Write([]byte(data))
	tw.Close()
	return b.Bytes()
}

// TestPushDockerArchiveChecksDiffIDs pushes docker-archives, with plain and
// gzip layers, whose config declares the right diffID and a wrong one: the
// right one is served after; the wrong one fails with an *image.InvalidError
// that names the layer, and the registry serves nothing at the tag.
func TestPushDockerArchiveChecksDiffIDs(t *testing.T) {
	reg := testRegistry(t)
	layer := layerTar(strings.Repeat("kernel bytes ", 50000))
	right := fmt.Sprintf("sha256:%x", sha256.Sum256(layer))
	wrong := fmt.Sprintf("sha256:%x", sha256.Sum256(layerTar("another kernel")))
	for i, gz := range []bool{false, true} {
		good := fmt.Sprintf("%s/urunc/good:%d", reg, i)
		if _, err := Push(context.Background(), dockerArchive(t, layer, gz, right), good, Insecure()); err != nil {
			t.Fatalf("gzip %v: pushing with the right diffID: %v", gz, err)
		}
		bad := fmt.Sprintf("%s/urunc/bad:%d", reg, i)
		_, err := Push(context.Background(), dockerArchive(t, layer, gz, wrong), bad, Insecure())
		var ie *image.InvalidError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), "layer 0 (diffID "+wrong+")") || !strings.Contains(err.Error(), right) {
			t.Errorf("gzip %v: pushing with a wrong diffID = %v; want an *image.InvalidError naming layer 0, %s and %s", gz, err, wrong, right)
		}
		tag, _ := name.NewTag(bad, name.Insecure)
		if d, err := remote.Head(tag); err == nil {
			t.Errorf("gzip %v: the registry serves %s at %s after a refused push", gz, d.Digest, bad)
		}
	}
}

// TestPushDockerArchiveCorruptGzip pushes a docker-archive whose gzip layer
// is cut short: the push fails, naming the layer.
func TestPushDockerArchiveCorruptGzip(t *testing.T) {
	reg := testRegistry(t)
	layer := layerTar(strings.Repeat("k", 100000))
	right := fmt.Sprintf("sha256:%x", sha256.Sum256(layer))
	p := dockerArchive(t, layer, true, right)
	raw, _ := os.ReadFile(p)
	// Flip a byte inside the deflate data of layer.tar: the stream still
	// has the same length, but its CRC or its structure is wrong.
	i := bytes.Index(raw, []byte{0x1f, 0x8b})
	raw[i+40] ^= 0xff
	os.WriteFile(p, raw, 0o644)
	_, err := Push(context.Background(), p, reg+"/urunc/corrupt:1", Insecure())
	var ie *image.InvalidError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "layer 0") {
		t.Errorf("pushing a corrupt gzip layer = %v; want an *image.InvalidError naming layer 0", err)
	}
}
