package image

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/output"
)

// TestLayoutKeepsOtherImages: a layout that skopeo filled with other
// tagged images gets bunix's image added, as skopeo and umoci add one:
// the images under other names stay, byte for byte, and skopeo still
// copies them out; the image under bunix's name is replaced, and the
// blobs only it used go with it.
func TestLayoutKeepsOtherImages(t *testing.T) {
	skopeo := testenv.Require(t, "skopeo")
	oneFile := func(tag, data string) string {
		dir := tree(t, [][2]string{{"f", data}})
		img := &Image{Architecture: "amd64", RepoTags: []string{tag}, Layers: []Layer{{Entries: fromPath(t, filepath.Join(dir, "f"), "/f")}}}
		return writePath(t, []*Image{img})
	}
	layout := filepath.Join(t.TempDir(), "layout")
	run(t, skopeo, "copy", "--quiet", "docker-archive:"+oneFile("other:1", "another image"), "oci:"+layout+":other:1")
	run(t, skopeo, "copy", "--quiet", "docker-archive:"+oneFile("other:2", "a third image"), "oci:"+layout+":other:2")
	run(t, skopeo, "copy", "--quiet", "docker-archive:"+oneFile("urunc/test:v1", "an older urunc/test:v1"), "oci:"+layout+":urunc/test:v1")
	before := map[string][]byte{}
	for _, ref := range []string{"other:1", "other:2", "urunc/test:v1"} {
		before[ref] = run(t, skopeo, "inspect", "--raw", "oci:"+layout+":"+ref)
	}
	var old v1.Manifest
	if err := json.Unmarshal(before["urunc/test:v1"], &old); err != nil {
		t.Fatal(err)
	}

	dir := tree(t, sampleFiles)
	if err := WritePath(layout, []*Image{annotated(t, dir)}, WithFormat(OCILayout)); err != nil {
		t.Fatal(err)
	}

	index := readIndexJSON(t, layout)
	var names []string
	for _, d := range index.Manifests {
		names = append(names, d.Annotations[annotationRefName])
	}
	if !slices.Equal(names, []string{"other:1", "other:2", "urunc/test:v1"}) {
		t.Errorf("index.json names %q, want other:1, other:2 and urunc/test:v1 once each", names)
	}
	for _, ref := range []string{"other:1", "other:2"} {
		if got := run(t, skopeo, "inspect", "--raw", "oci:"+layout+":"+ref); !bytes.Equal(got, before[ref]) {
			t.Errorf("the manifest of %s changed:\n%s\nwant\n%s", ref, got, before[ref])
		}
		out := filepath.Join(t.TempDir(), "out.tar")
		run(t, skopeo, "copy", "--quiet", "oci:"+layout+":"+ref, "docker-archive:"+out+":"+ref)
		img, err := tarball.ImageFromPath(out, nil)
		if err != nil {
			t.Fatal(err)
		}
		if ls, err := img.Layers(); err != nil || len(ls) != 1 {
			t.Errorf("%s read back with layers %v, %v", ref, ls, err)
		}
	}
	var info struct {
		Labels map[string]string
		Layers []string
	}
	if err := json.Unmarshal(run(t, skopeo, "inspect", "oci:"+layout+":urunc/test:v1"), &info); err != nil {
		t.Fatal(err)
	}
	if info.Labels["k"] != "v" || len(info.Layers) != 3 {
		t.Errorf("urunc/test:v1 is not bunix's image: %+v", info)
	}
	for _, d := range append([]v1.Descriptor{old.Config}, old.Layers...) {
		if _, err := os.Lstat(filepath.Join(layout, blobPath(d.Digest))); !os.IsNotExist(err) {
			t.Errorf("the replaced image's blob %s is still there: %v", d.Digest, err)
		}
	}
	if ents, _ := os.ReadDir(filepath.Dir(layout)); len(ents) != 1 {
		t.Errorf("left beside the layout: %v", ents)
	}
}

// TestLayoutUnreadableIndex: a layout whose index.json bunix cannot read
// is refused, and left as it was: bunix cannot tell which images it would
// keep.
func TestLayoutUnreadableIndex(t *testing.T) {
	layout := t.TempDir()
	os.WriteFile(filepath.Join(layout, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
	os.WriteFile(filepath.Join(layout, "index.json"), []byte(`{"manifests": [`), 0o644)
	before := snapshot(t, layout)
	dir := tree(t, sampleFiles)
	err := WritePath(layout, []*Image{sampleImage(t, dir)}, WithFormat(OCILayout))
	var oe *output.Error
	if !errors.As(err, &oe) {
		t.Errorf("WritePath over an unreadable index.json = %v, want an *output.Error", err)
	}
	if got := snapshot(t, layout); got != before {
		t.Error("a refused write changed the layout")
	}
}

func readIndexJSON(t *testing.T, layout string) *v1.IndexManifest {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(layout, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := v1.ParseIndexManifest(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// FuzzReadOldLayout reads a layout whose index.json and one blob are
// fuzzed, as an output bunix joins: it never panics, keeps only entries
// of the index, and drops only blobs named by sha256 digests.
func FuzzReadOldLayout(f *testing.F) {
	manifest := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:` + strings.Repeat("a", 64) + `","size":2},"layers":[]}`)
	h, _, _ := v1.SHA256(bytes.NewReader(manifest))
	f.Add([]byte(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"`+h.String()+`","size":`+strconv.Itoa(len(manifest))+`,"annotations":{"org.opencontainers.image.ref.name":"x:1"}},{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"`+h.String()+`","size":`+strconv.Itoa(len(manifest))+`,"annotations":{"org.opencontainers.image.ref.name":"y:1"}}]}`), manifest)
	f.Add([]byte(`{"manifests":null}`), []byte(`{}`))
	f.Fuzz(func(t *testing.T, index, blob []byte) {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755)
		os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
		os.WriteFile(filepath.Join(dir, "index.json"), index, 0o644)
		h, _, _ := v1.SHA256(bytes.NewReader(blob))
		os.WriteFile(filepath.Join(dir, blobPath(h)), blob, 0o644)
		old, err := readOldLayout(dir, []string{"x:1"})
		if err != nil {
			return
		}
		for _, d := range old.kept {
			if !slices.ContainsFunc(old.index.Manifests, func(m v1.Descriptor) bool { return m.Digest == d.Digest }) {
				t.Errorf("kept %s, which index.json does not list", d.Digest)
			}
		}
		for hex := range old.drop {
			if !IsSHA256(v1.Hash{Algorithm: "sha256", Hex: hex}) {
				t.Errorf("drops %q, not a sha256 digest", hex)
			}
		}
	})
}
