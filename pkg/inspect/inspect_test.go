package inspect

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/nubificus/bunix/pkg/image"
	"github.com/nubificus/bunix/pkg/output"
	"github.com/nubificus/bunix/pkg/registry"
	"github.com/nubificus/bunix/pkg/urunc"
)

func writeImage(t *testing.T) string {
	t.Helper()
	img := &image.Image{
		RepoTags:     []string{"urunc/x:1"},
		Architecture: "arm64",
		Layers: []image.Layer{
			{Entries: []image.Entry{{Path: "/unikernel/kernel", Type: image.Regular, Data: []byte("KERNEL-BYTES"), Executable: true}}, CreatedBy: "copy"},
			{Entries: []image.Entry{{Path: urunc.JSONPath, Type: image.Regular, Data: urunc.EncodeJSON(map[string]string{"binary": "/unikernel/kernel"})}}, CreatedBy: "settings"},
		},
	}
	p := filepath.Join(t.TempDir(), "img.tar")
	if err := output.WriteFile(p, img.WriteDockerArchive); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDockerArchive(t *testing.T) {
	r, err := DockerArchive(writeImage(t))
	if err != nil {
		t.Fatal(err)
	}
	if r.RepoTags[0] != "urunc/x:1" || r.Architecture != "arm64" || len(r.Layers) != 2 ||
		r.Urunc["binary"] != "/unikernel/kernel" || r.Layers[0].CreatedBy != "copy" || r.Layers[0].Size != 2560 {
		t.Errorf("report %+v", r)
	}
	if f := r.Layers[0].Files[1]; f.Path != "/unikernel/kernel" || f.Mode.String() != "-rwxr-xr-x" || f.Size != 12 {
		t.Errorf("file %+v", f)
	}
	var text bytes.Buffer
	r.WriteText(&text)
	if !strings.Contains(text.String(), "  binary  /unikernel/kernel") {
		t.Errorf("text:\n%s", text.String())
	}
}

func TestDockerArchiveCorrupt(t *testing.T) {
	p := writeImage(t)
	b, _ := os.ReadFile(p)
	i := bytes.Index(b, []byte("KERNEL-BYTES"))
	b[i] = 'k'
	os.WriteFile(p, b, 0o644)
	_, err := DockerArchive(p)
	var bad *image.InvalidError
	if err == nil || !strings.Contains(err.Error(), "the image is corrupt") || !errors.As(err, &bad) {
		t.Errorf("got %v, want an *image.InvalidError saying the image is corrupt", err)
	}
}

// TestForeignArchive reads an archive written by go-containerregistry, with
// gzip layers and layer files named otherwise.
func TestForeignArchive(t *testing.T) {
	img, err := random.Image(1000, 2)
	if err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag("example/random:t")
	p := filepath.Join(t.TempDir(), "r.tar")
	if err := tarball.WriteToFile(p, tag, img); err != nil {
		t.Fatal(err)
	}
	r, err := DockerArchive(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Layers) != 2 || r.Urunc != nil || len(r.Layers[0].Files) != 1 {
		t.Errorf("report %+v", r)
	}
}

func TestTree(t *testing.T) {
	r := &Report{Layers: []Layer{
		{Files: []File{{Path: "/a", Mode: fs.ModeDir | 0o755}, {Path: "/a/b", Size: 1}, {Path: "/a-x", Size: 2}, {Path: "/old", Size: 3}}},
		{Files: []File{{Path: "/a/c", Mode: fs.ModeDir | 0o755}, {Path: "/a/c/d", Size: 4}, {Path: "/.wh.old"}, {Path: "/a/b", Size: 5}}},
	}}
	var b bytes.Buffer
	writeTree(&b, r.Files())
	want := `  /
  ├── a/  drwxr-xr-x 0:0
  │   ├── b  5 bytes  ---------- 0:0
  │   └── c/  drwxr-xr-x 0:0
  │       └── d  4 bytes  ---------- 0:0
  └── a-x  2 bytes  ---------- 0:0
`
	if b.String() != want {
		t.Errorf("tree:\n%s\nwant:\n%s", b.String(), want)
	}
}

// TestOCIAndRemote reads an OCI layout written by go-containerregistry
// (gzip layers, manifest annotations), then the same image pushed to an
// in-memory registry.
func TestOCIAndRemote(t *testing.T) {
	img, err := random.Image(1000, 2)
	if err != nil {
		t.Fatal(err)
	}
	img = mutate.Annotations(img, map[string]string{"com.urunc.unikernel.binary": "/k"}).(v1.Image)
	dir := t.TempDir()
	p, _ := layout.Write(dir, empty.Index)
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "x:1"})); err != nil {
		t.Fatal(err)
	}
	rs, err := Path(dir)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	if len(rs) != 1 || rs[0].Digest != want.String() || rs[0].Annotations["com.urunc.unikernel.binary"] != "/k" ||
		len(rs[0].Layers) != 2 || rs[0].RepoTags[0] != "x:1" {
		t.Fatalf("reports %+v", rs)
	}

	s := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	defer s.Close()
	ref := strings.TrimPrefix(s.URL, "http://") + "/urunc/x:1"
	tag, _ := name.NewTag(ref)
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	imgs, err := registry.Get(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Image(imgs[0], []string{ref})
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 1 || r.Digest != want.String() || r.Layers[1].DiffID == "" {
		t.Errorf("remote report %+v", r)
	}
}

// TestWriteAll: one report is a JSON object, several a list; their texts
// are apart by a blank line.
func TestWriteAll(t *testing.T) {
	a := &Report{RepoTags: []string{"a:1"}, Architecture: "amd64"}
	b := &Report{RepoTags: []string{"b:1"}, Architecture: "arm64"}
	var one, two bytes.Buffer
	if err := WriteJSONAll(&one, []*Report{a}); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSONAll(&two, []*Report{a, b}); err != nil {
		t.Fatal(err)
	}
	var obj Report
	var list []Report
	if err := json.Unmarshal(one.Bytes(), &obj); err != nil || obj.Architecture != "amd64" {
		t.Errorf("one report: %s (%v)", one.String(), err)
	}
	if err := json.Unmarshal(two.Bytes(), &list); err != nil || len(list) != 2 || list[1].Architecture != "arm64" {
		t.Errorf("two reports: %s (%v)", two.String(), err)
	}
	var text, ta, tb bytes.Buffer
	a.WriteText(&ta)
	b.WriteText(&tb)
	if err := WriteTextAll(&text, []*Report{a, b}); err != nil || text.String() != ta.String()+"\n"+tb.String() {
		t.Errorf("text of two reports:\n%s", text.String())
	}
}
