package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// ociLayout writes img to a new OCI layout directory with ggcr, tagged.
func ociLayout(t testing.TB, img v1.Image) string {
	t.Helper()
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "urunc/x:1"})); err != nil {
		t.Fatal(err)
	}
	return dir
}

// tarDir tars dir, files only, as an oci-archive.
func tarDir(t testing.TB, dir string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "img.tar")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(f)
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b, _ := os.ReadFile(p)
		tw.WriteHeader(&tar.Header{Name: rel, Mode: 0o644, Size: int64(len(b))})
		tw.Write(b)
		return nil
	})
	tw.Close()
	f.Close()
	return out
}

func annotatedImage(t *testing.T) v1.Image {
	img, err := random.Image(3000, 2)
	if err != nil {
		t.Fatal(err)
	}
	return mutate.Annotations(img, map[string]string{"com.urunc.unikernel.binary": "/k"}).(v1.Image)
}

func TestOpenOCI(t *testing.T) {
	img := annotatedImage(t)
	want, _ := img.RawManifest()
	dir := ociLayout(t, img)
	for _, p := range []string{dir, tarDir(t, dir)} {
		f, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Images) != 1 || len(f.Names) != 1 || len(f.Names[0]) != 1 || f.Names[0][0] != "urunc/x:1" {
			t.Fatalf("%s: %+v", f.Format, f)
		}
		got, _ := f.Images[0].RawManifest()
		if !bytes.Equal(got, want) {
			t.Errorf("%s: manifest changed", f.Format)
		}
		layers, _ := f.Images[0].Layers()
		wantLayers, _ := img.Layers()
		for i, l := range layers {
			rc, err := l.Compressed()
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			wrc, _ := wantLayers[i].Compressed()
			wb, _ := io.ReadAll(wrc)
			if !bytes.Equal(b, wb) {
				t.Errorf("%s: layer %d differs", f.Format, i)
			}
		}
		if _, err := f.Images[0].ConfigFile(); err != nil {
			t.Error(err)
		}
		f.Close()
	}
}

func TestOpenDockerArchive(t *testing.T) {
	img := annotatedImage(t)
	p := filepath.Join(t.TempDir(), "d.tar")
	tag, _ := name.NewTag("urunc/y:2")
	if err := tarball.WriteToFile(p, tag, img); err != nil {
		t.Fatal(err)
	}
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Format != DockerArchive || f.Index != nil || len(f.Images) != 1 || f.Names[0][0] != "urunc/y:2" {
		t.Errorf("%+v", f)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	notTar := filepath.Join(dir, "x")
	os.WriteFile(notTar, []byte("hello"), 0o644)
	for p, want := range map[string]string{
		dir:                        "not an OCI image layout",
		notTar:                     "not a tar archive",
		filepath.Join(dir, "gone"): "no such file",
	} {
		if _, err := Open(p); err == nil || !bytes.Contains([]byte(err.Error()), []byte(want)) {
			t.Errorf("Open(%s) = %v, want %q", p, err, want)
		}
	}
}

// rchar is how many bytes this process has read, from /proc/self/io.
func rchar(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		t.Skip("no /proc/self/io:", err)
	}
	var n int64
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "rchar: "); ok {
			fmt.Sscan(v, &n)
		}
	}
	return n
}

// TestOpenReadsHeadersOnly: opening an archive reads its tar headers, not
// the contents: those are read in place, once, by whoever needs them.
func TestOpenReadsHeadersOnly(t *testing.T) {
	img, err := random.Image(64<<20, 1)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "big.tar")
	tag, _ := name.NewTag("urunc/big:1")
	if err := tarball.WriteToFile(p, tag, img); err != nil {
		t.Fatal(err)
	}
	before := rchar(t)
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if read := rchar(t) - before; read > 4<<20 {
		t.Errorf("Open read %d bytes of a %d-byte layer archive", read, 64<<20)
	}
}
