package image

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/nubificus/bunix/internal/testenv"
)

// TestIndex writes an amd64 and an arm64 image as one OCI index: index.json
// names a nested image index, which lists both manifests with their
// platforms and carries the annotations they share; blobs they share are
// written once.
func TestIndex(t *testing.T) {
	dir := tree(t, sampleFiles)
	amd, arm := annotated(t, dir), annotated(t, dir)
	arm.Architecture = "arm64"
	arm.Annotations = map[string]string{"com.example.key": "other", "org.opencontainers.image.title": "test"}
	for _, f := range []Format{OCILayout, OCIArchive} {
		t.Run(string(f), func(t *testing.T) {
			p := writePath(t, []*Image{amd, arm}, WithFormat(f), WithCompression(Gzip))
			layout := readIndex(t, p, f)
			top, err := layout.IndexManifest()
			if err != nil {
				t.Fatal(err)
			}
			if len(top.Manifests) != 1 || top.Manifests[0].MediaType != types.OCIImageIndex || top.Manifests[0].Annotations[annotationRefName] != "urunc/test:v1" {
				t.Fatalf("index.json lists %+v", top.Manifests)
			}
			idx, err := layout.ImageIndex(top.Manifests[0].Digest)
			if err != nil {
				t.Fatal(err)
			}
			im, err := idx.IndexManifest()
			if err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprint(map[string]string{annotationCreated: "1970-01-01T00:00:01Z", "org.opencontainers.image.title": "test"})
			if len(im.Manifests) != 2 || fmt.Sprint(im.Annotations) != want {
				t.Fatalf("the index lists %d manifests and has the annotations %v, want 2 and %s", len(im.Manifests), im.Annotations, want)
			}
			for i, arch := range []string{"amd64", "arm64"} {
				d := im.Manifests[i]
				if d.Platform == nil || d.Platform.String() != "linux/"+arch {
					t.Errorf("manifest %d is for %v, want linux/%s", i, d.Platform, arch)
				}
				img, err := idx.Image(d.Digest)
				if err != nil {
					t.Fatal(err)
				}
				checkLayerDigests(t, img)
				if cfg, _ := img.ConfigFile(); cfg.Architecture != arch {
					t.Errorf("manifest %d has the config of %s", i, cfg.Architecture)
				}
			}
		})
	}
}

// TestSkopeoReadsIndex has skopeo pick each platform of an index.
func TestSkopeoReadsIndex(t *testing.T) {
	skopeo := testenv.Require(t, "skopeo")
	dir := tree(t, sampleFiles)
	amd, arm := sampleImage(t, dir), sampleImage(t, dir)
	arm.Architecture = "arm64"
	for _, f := range []Format{OCILayout, OCIArchive} {
		p := writePath(t, []*Image{amd, arm}, WithFormat(f))
		for _, arch := range []string{"amd64", "arm64"} {
			var info struct{ Architecture string }
			if err := json.Unmarshal(run(t, skopeo, "inspect", "--override-arch", arch, string(f)+":"+p), &info); err != nil {
				t.Fatal(err)
			}
			if info.Architecture != arch {
				t.Errorf("%s: skopeo picks %s for %s", f, info.Architecture, arch)
			}
		}
	}
}
