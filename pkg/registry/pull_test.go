package registry

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/image"
)

// pushed writes x, an image or an index, to the registry as ref, with
// go-containerregistry rather than bunix, and returns its digest.
func pushed(t *testing.T, ref string, x interface {
	remote.Taggable
	Digest() (v1.Hash, error)
}) v1.Hash {
	t.Helper()
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Push(tag, x); err != nil {
		t.Fatal(err)
	}
	d, err := x.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestPull pulls a qemu-only index by digest, twice: the layouts are the
// same files (so the same NAR hash), index.json names the qemu image's
// manifest with its platform, and image.Open reads the layout back with
// every blob checked. The architecture the index lacks is an error listing
// what it has.
func TestPull(t *testing.T) {
	ref := testRegistry(t) + "/unikraft/nginx:1.15"
	idx, img := testenv.BaseImage(t, compression.GZip, "")
	digest := pushed(t, ref, idx)
	ctx := context.Background()
	tmp := t.TempDir()
	var trees []map[string]string
	for _, dir := range []string{filepath.Join(tmp, "a"), filepath.Join(tmp, "b")} {
		if err := Pull(ctx, ref, digest.String(), image.Want{Architecture: "amd64"}, dir); err != nil {
			t.Fatal(err)
		}
		tree := map[string]string{}
		filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
			rel, _ := filepath.Rel(dir, p)
			if !fi.IsDir() {
				data, _ := os.ReadFile(p)
				tree[rel] = string(data)
			}
			return nil
		})
		trees = append(trees, tree)
	}
	if len(trees[0]) != len(trees[1]) {
		t.Fatalf("two pulls differ: %d and %d files", len(trees[0]), len(trees[1]))
	}
	for k, v := range trees[0] {
		if trees[1][k] != v {
			t.Errorf("two pulls differ at %s", k)
		}
	}
	m, _ := img.Manifest()
	if len(trees[0]) != 4+len(m.Layers) {
		t.Errorf("%d files: want oci-layout, index.json, manifest, config and %d layers", len(trees[0]), len(m.Layers))
	}
	idxJSON, err := v1.ParseIndexManifest(strings.NewReader(trees[0]["index.json"]))
	if err != nil {
		t.Fatal(err)
	}
	md, _ := img.Digest()
	if d := idxJSON.Manifests; len(d) != 1 || d[0].Digest != md || d[0].Platform == nil || d[0].Platform.OS != "qemu" {
		t.Errorf("index.json: %s", trees[0]["index.json"])
	}
	f, err := image.Open(filepath.Join(tmp, "a"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := image.OpenBase(f, ref, image.Want{Architecture: "amd64"}); err != nil {
		t.Errorf("the pulled layout is no base: %v", err)
	}
	err = Pull(ctx, ref, digest.String(), image.Want{Architecture: "arm64"}, filepath.Join(tmp, "c"))
	if err == nil || !strings.Contains(err.Error(), "no image for the architecture arm64 (it has: qemu/amd64)") || !IsRefused(err) {
		t.Errorf("arm64: %v", err)
	}
	if _, serr := os.Stat(filepath.Join(tmp, "c")); serr == nil {
		t.Error("a failed pull left its directory")
	}
}

// TestPullSingleImage pulls an image that is no index: its architecture is
// chosen as an index's is (image.ChoosePlatform), so another architecture
// is the same *image.InvalidError listing the platform it has.
func TestPullSingleImage(t *testing.T) {
	ref := testRegistry(t) + "/urunc/single:1"
	img := testImage(t, "amd64")
	digest := pushed(t, ref, img)
	ctx := context.Background()
	tmp := t.TempDir()
	if err := Pull(ctx, ref, digest.String(), image.Want{Architecture: "amd64"}, filepath.Join(tmp, "a")); err != nil {
		t.Fatal(err)
	}
	idxJSON, err := v1.ParseIndexManifest(strings.NewReader(string(testenv.ReadFile(t, filepath.Join(tmp, "a", "index.json")))))
	if err != nil {
		t.Fatal(err)
	}
	if d := idxJSON.Manifests; len(d) != 1 || d[0].Digest != digest || d[0].Platform == nil || d[0].Platform.String() != "linux/amd64" {
		t.Errorf("index.json: %+v", idxJSON)
	}
	err = Pull(ctx, ref, digest.String(), image.Want{Architecture: "arm64"}, filepath.Join(tmp, "c"))
	var inv *image.InvalidError
	want := "pulling " + strings.TrimSuffix(ref, ":1") + "@" + digest.String() + ": the image: it has no image for the architecture arm64 (it has: linux/amd64)"
	if err == nil || err.Error() != want || !errors.As(err, &inv) || !IsRefused(err) {
		t.Errorf("arm64: %v, want %q", err, want)
	}
	if _, serr := os.Stat(filepath.Join(tmp, "c")); serr == nil {
		t.Error("a failed pull left its directory")
	}
}

// TestPrefetchedNix: the attribute set Nix prints evaluates, in Nix
// itself, to the fields, hostile characters and all (a carriage return
// once came back a newline).
func TestPrefetchedNix(t *testing.T) {
	p := Prefetched{Ref: "r\r\t${x}\"\\", Digest: "sha256:" + strings.Repeat("a", 64), Hash: "sha256-$${y}"}
	out, _, err := testenv.NixInstantiate(t, t.TempDir(), "--eval", "--strict", "--json", "-E", p.Nix())
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(out), &got); err != nil || got["ref"] != p.Ref || got["digest"] != p.Digest || got["hash"] != p.Hash {
		t.Errorf("%s evaluates to %s (%v)", p.Nix(), out, err)
	}
}

// TestPullKeepsExistingDir: Pull into a directory that exists fails and
// leaves it, and what it holds, as it was.
func TestPullKeepsExistingDir(t *testing.T) {
	ref := testRegistry(t) + "/unikraft/nginx:1.15"
	idx, _ := testenv.BaseImage(t, compression.GZip, "")
	digest := pushed(t, ref, idx)
	dir := t.TempDir()
	keep := filepath.Join(dir, "mine")
	os.WriteFile(keep, []byte("the user's"), 0o644)
	if err := Pull(context.Background(), ref, digest.String(), image.Want{Architecture: "amd64"}, dir); err == nil {
		t.Fatal("Pull into an existing directory succeeded")
	}
	if b, err := os.ReadFile(keep); err != nil || string(b) != "the user's" {
		t.Errorf("after the failed Pull, %s: %q, %v", keep, b, err)
	}
}
