package registry

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func testRegistry(t *testing.T) string {
	s := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

func testImage(t *testing.T, arch string) v1.Image {
	img, err := random.Image(2000, 2)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Architecture, cfg.OS = arch, "linux"
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return mutate.Annotations(img, map[string]string{"com.urunc.unikernel.binary": "/k"}).(v1.Image)
}

func TestPushOCIKeepsManifest(t *testing.T) {
	reg := testRegistry(t)
	img := testImage(t, "amd64")
	dir := t.TempDir()
	p, _ := layout.Write(dir, empty.Index)
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	ref := reg + "/urunc/x:1"
	d, err := Push(context.Background(), dir, ref, Insecure(), WithKeychain(authn.NewMultiKeychain()))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	if d.DigestStr() != want.String() {
		t.Errorf("pushed %s, local %s", d, want)
	}
	r, _ := name.ParseReference(ref, name.Insecure)
	got, err := remote.Get(r)
	if err != nil {
		t.Fatal(err)
	}
	local, _ := img.RawManifest()
	if string(got.Manifest) != string(local) {
		t.Errorf("the registry's manifest differs:\n%s\n%s", got.Manifest, local)
	}
}

func TestPushIndex(t *testing.T) {
	reg := testRegistry(t)
	dir := t.TempDir()
	p, _ := layout.Write(dir, empty.Index)
	for _, arch := range []string{"amd64", "arm64"} {
		if err := p.AppendImage(testImage(t, arch), layout.WithPlatform(v1.Platform{OS: "linux", Architecture: arch})); err != nil {
			t.Fatal(err)
		}
	}
	idx, _ := layout.ImageIndexFromPath(dir)
	want, _ := idx.Digest()
	d, err := Push(context.Background(), dir, reg+"/urunc/multi:1", Insecure())
	if err != nil {
		t.Fatal(err)
	}
	if d.DigestStr() != want.String() {
		t.Errorf("pushed %s, local %s", d, want)
	}
}

// TestPushTwoImagesOnePlatform: a layout holding two images for one
// platform (two names built into one directory) is refused as the user's,
// naming both, and nothing is tagged; one with an attestation manifest
// beside its image is pushed.
func TestPushTwoImagesOnePlatform(t *testing.T) {
	reg := testRegistry(t)
	dir := t.TempDir()
	p, _ := layout.Write(dir, empty.Index)
	amd64 := v1.Platform{OS: "linux", Architecture: "amd64"}
	for _, n := range []string{"urunc/redis:latest", "urunc/other:latest"} {
		if err := p.AppendImage(testImage(t, "amd64"), layout.WithPlatform(amd64), layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": n})); err != nil {
			t.Fatal(err)
		}
	}
	ref := reg + "/urunc/two:1"
	_, err := Push(context.Background(), dir, ref, Insecure())
	if !IsUserError(err) || !strings.Contains(err.Error(), `it holds two images for linux/amd64, "urunc/redis:latest" and "urunc/other:latest"`) {
		t.Errorf("got %v", err)
	}
	r, _ := name.ParseReference(ref, name.Insecure)
	if _, err := remote.Head(r); err == nil {
		t.Error("the tag was pushed all the same")
	}

	dir = t.TempDir()
	p, _ = layout.Write(dir, empty.Index)
	p.AppendImage(testImage(t, "amd64"), layout.WithPlatform(amd64))
	p.AppendImage(testImage(t, "amd64"), layout.WithPlatform(v1.Platform{OS: "unknown", Architecture: "unknown"}), layout.WithAnnotations(map[string]string{"vnd.docker.reference.type": "attestation-manifest"}))
	if _, err := Push(context.Background(), dir, reg+"/urunc/att:1", Insecure()); err != nil {
		t.Errorf("an image and its attestation: %v", err)
	}
}

func TestPushDockerArchive(t *testing.T) {
	reg := testRegistry(t)
	p := filepath.Join(t.TempDir(), "d.tar")
	tag, _ := name.NewTag("urunc/y:2")
	if err := tarball.WriteToFile(p, tag, testImage(t, "amd64")); err != nil {
		t.Fatal(err)
	}
	d, err := Push(context.Background(), p, reg+"/urunc/y:2", Insecure())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(d.String(), reg+"/urunc/y@sha256:") {
		t.Errorf("digest ref %s", d)
	}
}

func TestPushErrors(t *testing.T) {
	dir := t.TempDir()
	p, _ := layout.Write(dir, empty.Index)
	p.AppendImage(testImage(t, "amd64"))
	for _, tc := range []struct{ file, ref, want string }{
		{dir, "127.0.0.1:1/urunc/x:1", "connection refused"},
		{dir, "Not A Ref", "not a valid image reference"},
		{filepath.Join(dir, "missing"), "127.0.0.1:1/x:1", "no such file"},
	} {
		_, err := Push(context.Background(), tc.file, tc.ref, Insecure())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Push(%s, %s) = %v, want %q", tc.file, tc.ref, err, tc.want)
		}
	}
	os.RemoveAll(dir)
}

// TestGet fetches an image and a two-image index back; a reference that
// does not parse is ErrBadReference.
func TestGet(t *testing.T) {
	reg := testRegistry(t)
	img := testImage(t, "amd64")
	tag, _ := name.NewTag(reg + "/urunc/g:1")
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	imgs, err := Get(context.Background(), tag.String(), Insecure())
	if err != nil {
		t.Fatal(err)
	}
	got, _ := imgs[0].Digest()
	want, _ := img.Digest()
	if len(imgs) != 1 || got != want {
		t.Errorf("Get = %d images, %s; want %s", len(imgs), got, want)
	}

	dir := t.TempDir()
	p, _ := layout.Write(dir, empty.Index)
	for _, arch := range []string{"amd64", "arm64"} {
		p.AppendImage(testImage(t, arch), layout.WithPlatform(v1.Platform{OS: "linux", Architecture: arch}))
	}
	if _, err := Push(context.Background(), dir, reg+"/urunc/g:2", Insecure()); err != nil {
		t.Fatal(err)
	}
	if imgs, err = Get(context.Background(), reg+"/urunc/g:2", Insecure()); err != nil || len(imgs) != 2 {
		t.Errorf("Get of an index = %d images, %v", len(imgs), err)
	}
	if _, err := Get(context.Background(), "Not A Ref"); !errors.Is(err, ErrBadReference) {
		t.Errorf("Get of a bad reference = %v", err)
	}
}
