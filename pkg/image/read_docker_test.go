package image

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// TestDockerImageDigest: for a docker-archive of plain layers (bunix's
// own) and one of gzip layers (go-containerregistry's), DockerImage gives
// the manifest and digest go-containerregistry's tarball reader gives, so
// a push sends what it sent before; a cancelled context stops the checks
// with its cause.
func TestDockerImageDigest(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain.tar")
	os.WriteFile(plain, write(t, sampleImage(t, tree(t, sampleFiles))), 0o644)
	gz := filepath.Join(dir, "gzip.tar")
	img, _ := random.Image(3000, 3)
	tag, _ := name.NewTag("urunc/r:1")
	if err := tarball.WriteToFile(gz, tag, img); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{plain, gz} {
		f, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		d, err := DockerImage(context.Background(), f)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		got, err := d.RawManifest()
		if err != nil {
			t.Fatal(err)
		}
		want, _ := f.Images[0].RawManifest()
		if string(got) != string(want) {
			t.Errorf("%s: DockerImage's manifest\n%s\ndiffers from ggcr's\n%s", filepath.Base(p), got, want)
		}
		ctx, cancel := context.WithCancelCause(context.Background())
		stop := errors.New("stop")
		cancel(stop)
		if _, err := DockerImage(ctx, f); !errors.Is(err, stop) {
			t.Errorf("%s: DockerImage with a cancelled context = %v, want its cause", filepath.Base(p), err)
		}
	}
}
