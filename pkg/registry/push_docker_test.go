package registry

import (
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
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/image"
)

// archiveLayer is a layer of a test docker-archive: its tar, stored gzip
// compressed when gz.
type archiveLayer struct {
	tar []byte
	gz  bool
}

// dockerArchive writes a docker-archive of layers whose config lists
// diffIDs, and returns its path.
func dockerArchive(t *testing.T, layers []archiveLayer, diffIDs []string) string {
	t.Helper()
	config, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs},
	})
	members := []testenv.TarMember{{Name: "config.json", Data: config}}
	var names []string
	for i, l := range layers {
		data := l.tar
		if l.gz {
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			zw.Write(l.tar)
			zw.Close()
			data = b.Bytes()
		}
		names = append(names, fmt.Sprintf("%d/layer.tar", i))
		members = append(members, testenv.TarMember{Name: names[i], Data: data})
	}
	manifest, _ := json.Marshal([]map[string]any{{"Config": "config.json", "RepoTags": []string{"urunc/d:1"}, "Layers": names}})
	members = append(members, testenv.TarMember{Name: "manifest.json", Data: manifest})
	p := filepath.Join(t.TempDir(), "d.tar")
	if err := os.WriteFile(p, testenv.TarOf(members...), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// layerTar is a layer holding one file, path, of contents data.
func layerTar(path, data string) []byte {
	return testenv.TarOf(testenv.TarMember{Name: path, Data: []byte(data)})
}

func diffID(tar []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(tar)) }

// TestPushDockerArchiveMixed pushes a docker-archive whose plain layers
// and gzip layers alternate, as a bunix image with compression = "gzip" on
// a plain base is: the registry serves every layer gzip-compressed, with
// the contents the config's diffIDs name, and a gzip layer byte for byte.
func TestPushDockerArchiveMixed(t *testing.T) {
	reg := testRegistry(t)
	layers := []archiveLayer{
		{layerTar("base/kernel", strings.Repeat("base ", 30000)), false},
		{layerTar("etc/app.conf", "conf"), true},
		{layerTar("data/x", strings.Repeat("x", 70000)), false},
		{layerTar("urunc.json", "{}"), true},
	}
	var ids []string
	for _, l := range layers {
		ids = append(ids, diffID(l.tar))
	}
	ref := reg + "/urunc/mixed:1"
	d, err := Push(context.Background(), dockerArchive(t, layers, ids), ref, Insecure())
	if err != nil {
		t.Fatal(err)
	}
	r, _ := name.ParseReference(d.String(), name.Insecure)
	img, err := remote.Image(r)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := img.Manifest()
	if m.MediaType != types.DockerManifestSchema2 || len(m.Layers) != len(layers) {
		t.Fatalf("the registry serves %s with %d layers", m.MediaType, len(m.Layers))
	}
	for i, desc := range m.Layers {
		l, err := img.LayerByDigest(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		h, _, err := v1.SHA256(rc)
		rc.Close()
		if err != nil || h.String() != ids[i] || desc.MediaType != types.DockerLayer {
			t.Errorf("layer %d: %s of uncompressed digest %s (%v), want %s", i, desc.MediaType, h, err, ids[i])
		}
	}
}

// TestPushDockerArchiveRefused pushes docker-archives whose layers and
// config disagree: a wrong diffID (of a plain and of a gzip layer), more
// layers than diffIDs, a duplicated diffID. Each fails with an
// *image.InvalidError naming the layer or the counts, and the registry
// serves nothing at the tag.
func TestPushDockerArchiveRefused(t *testing.T) {
	reg := testRegistry(t)
	a, b := layerTar("a", strings.Repeat("a", 50000)), layerTar("b", "b")
	for i, tc := range []struct {
		layers  []archiveLayer
		diffIDs []string
		want    []string
	}{
		{[]archiveLayer{{a, false}}, []string{diffID(b)}, []string{"layer 0", diffID(a), diffID(b)}},
		{[]archiveLayer{{a, true}}, []string{diffID(b)}, []string{"layer 0", diffID(a), diffID(b)}},
		{[]archiveLayer{{a, false}, {b, true}}, []string{diffID(a), diffID(a)}, []string{"layer 1", diffID(b), diffID(a)}},
		{[]archiveLayer{{a, false}, {b, false}}, []string{diffID(a)}, []string{"2 layers", "1 diffIDs"}},
		{[]archiveLayer{{a, true}}, []string{diffID(a), diffID(b)}, []string{"1 layers", "2 diffIDs"}},
	} {
		ref := fmt.Sprintf("%s/urunc/bad:%d", reg, i)
		_, err := Push(context.Background(), dockerArchive(t, tc.layers, tc.diffIDs), ref, Insecure())
		var ie *image.InvalidError
		if !errors.As(err, &ie) {
			t.Errorf("case %d: push = %v; want an *image.InvalidError", i, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("case %d: push = %v; want it to name %s", i, err, w)
			}
		}
		tag, _ := name.NewTag(ref, name.Insecure)
		if d, err := remote.Head(tag); err == nil {
			t.Errorf("case %d: the registry serves %s at %s after a refused push", i, d.Digest, ref)
		}
	}
}

// TestPushDockerArchiveCorruptGzip pushes a docker-archive whose gzip
// layer has a flipped byte: the push fails, naming the layer.
func TestPushDockerArchiveCorruptGzip(t *testing.T) {
	reg := testRegistry(t)
	layer := layerTar("k", strings.Repeat("k", 100000))
	p := dockerArchive(t, []archiveLayer{{layer, true}}, []string{diffID(layer)})
	raw, _ := os.ReadFile(p)
	i := bytes.Index(raw, []byte{0x1f, 0x8b})
	raw[i+40] ^= 0xff
	os.WriteFile(p, raw, 0o644)
	_, err := Push(context.Background(), p, reg+"/urunc/corrupt:1", Insecure())
	var ie *image.InvalidError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "layer 0") {
		t.Errorf("pushing a corrupt gzip layer = %v; want an *image.InvalidError naming layer 0", err)
	}
}
