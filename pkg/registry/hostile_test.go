package registry

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/compression"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/image"
)

// TestPushRefusesSymlinkedBlob pushes, to a real registry, a layout whose
// layer blob is a symlink to /etc/passwd, its manifest declaring that
// file's digest and size: the push fails and the registry holds nothing,
// neither the layer nor the config nor the manifest.
func TestPushRefusesSymlinkedBlob(t *testing.T) {
	reg := testenv.Registry(t)
	passwd, err := os.ReadFile("/etc/passwd")
	if err != nil {
		t.Skip(err)
	}
	l := static.NewLayer(passwd, types.OCIUncompressedLayer)
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p, _ := layout.Write(dir, empty.Index)
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	ld, _ := l.Digest()
	blob := filepath.Join(dir, "blobs", "sha256", ld.Hex)
	os.Remove(blob)
	if err := os.Symlink("/etc/passwd", blob); err != nil {
		t.Fatal(err)
	}

	_, err = Push(context.Background(), dir, reg.Addr+"/urunc/leak:1", Insecure())
	// Push follows blob links into the Nix store only; this one leads out.
	if err == nil || !strings.Contains(err.Error(), `symbolic link to "/etc/passwd", which is not a path in the Nix store`) {
		t.Fatalf("Push = %v, want a refusal of the symlinked blob", err)
	}
	cd, _ := img.ConfigName()
	md, _ := img.Digest()
	for _, u := range []string{"/blobs/" + ld.String(), "/blobs/" + cd.String(), "/manifests/" + md.String(), "/manifests/1"} {
		resp, err := http.Head("http://" + reg.Addr + "/v2/urunc/leak" + u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("the registry answers %s for %s: something was uploaded", resp.Status, u)
		}
	}
}

// TestPushRefusesTamperedManifest: a manifest changed after the fact is
// not pushed under a fresh digest.
func TestPushRefusesTamperedManifest(t *testing.T) {
	reg := testenv.Registry(t)
	dir := t.TempDir()
	p, _ := layout.Write(dir, empty.Index)
	img := testImage(t, "amd64")
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	md, _ := img.Digest()
	mp := filepath.Join(dir, "blobs", "sha256", md.Hex)
	b, _ := os.ReadFile(mp)
	b = []byte(strings.Replace(string(b), "/k", "/K", 1))
	os.WriteFile(mp, b, 0o644)
	_, err := Push(context.Background(), dir, reg.Addr+"/urunc/t:1", Insecure())
	if err == nil || !strings.Contains(err.Error(), "it was changed") {
		t.Fatalf("Push = %v, want the tampered manifest refused", err)
	}
	resp, err := http.Head("http://" + reg.Addr + "/v2/urunc/t/manifests/1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("the registry serves urunc/t:1: %s", resp.Status)
	}
}

// TestPullRefusesTamperedBlob pulls from a registry that serves a layer
// blob with one byte changed (the same length): Pull fails naming the
// digest, and leaves no directory.
func TestPullRefusesTamperedBlob(t *testing.T) {
	idx, img := testenv.BaseImage(t, compression.GZip, "")
	m, _ := img.Manifest()
	layer := "/blobs/" + m.Layers[0].Digest.String()
	inner := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, layer) {
			inner.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		inner.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		body[len(body)/2] ^= 0xff
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(body)
	}))
	t.Cleanup(s.Close)
	ref := strings.TrimPrefix(s.URL, "http://") + "/unikraft/nginx:1.15"
	digest := pushed(t, ref, idx)
	dir := filepath.Join(t.TempDir(), "image")
	err := Pull(context.Background(), ref, digest.String(), image.Want{Architecture: "amd64"}, dir)
	if err == nil || !strings.Contains(err.Error(), m.Layers[0].Digest.Hex) {
		t.Errorf("Pull of a tampered blob = %v, want an error naming its digest", err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("Pull left %s", dir)
	}
}
