package build

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/image"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// toolImage writes, as an OCI layout, an image whose two layers hold an
// executable /urunit, a directory /app (a file, a symlink, and a file the
// second layer whites out) and /etc/secret.
func toolImage(t *testing.T) string {
	t.Helper()
	// For a regular file, Linkname carries its content here.
	return imageLayout(t,
		testenv.HeaderLayer(t, tar.Header{Name: "urunit", Typeflag: tar.TypeReg, Mode: 0o755, Linkname: "urunit binary"},
			tar.Header{Name: "app/", Typeflag: tar.TypeDir, Mode: 0o755},
			tar.Header{Name: "app/conf", Typeflag: tar.TypeReg, Mode: 0o600, Linkname: "conf"},
			tar.Header{Name: "app/old", Typeflag: tar.TypeReg, Mode: 0o644, Linkname: "old"},
			tar.Header{Name: "app/link", Typeflag: tar.TypeSymlink, Linkname: "conf"},
			tar.Header{Name: "etc/secret", Typeflag: tar.TypeReg, Mode: 0o644, Linkname: "s"}),
		testenv.HeaderLayer(t, tar.Header{Name: "app/.wh.old", Typeflag: tar.TypeReg, Mode: 0o644}))
}

// imageLayout writes, as an OCI layout, an index whose one image, for
// linux/amd64, has layers, and returns its directory.
func imageLayout(t *testing.T, layers ...v1.Layer) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tool")
	if _, err := layout.Write(dir, testenv.AMD64Index(t, layers...)); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestCopyFromImage: contents and rootfs.include entries with an image
// copy a file (keeping its executable bit) or a directory (stacked: what
// a later layer whites out is gone, symlinks kept) out of it, and nothing
// else of it; a path the image lacks, and an unpinned reference, are the
// user's errors naming the field.
func TestCopyFromImage(t *testing.T) {
	tool := toolImage(t)
	f := writeOpen(t, `{"name":"x","contents":[{"image":`+quoted(tool)+`,"source":"/urunit","target":"/urunit"}],"files":{"/app":{"image":`+quoted(tool)+`,"target":"/srv/app"}},
	  "annotations":{"unikernelType":"linux","hypervisor":"qemu","binary":"/urunit"}}`)
	got := map[string]string{}
	modes := map[string]int64{}
	testenv.WalkImage(t, f.Images[0], func(p string, h *tar.Header, r io.Reader) {
		b, _ := io.ReadAll(r)
		got[p] = string(b) + h.Linkname
		modes[p] = h.Mode
	})
	if got["/urunit"] != "urunit binary" || modes["/urunit"]&0o111 == 0 || got["/srv/app/conf"] != "conf" || got["/srv/app/link"] != "conf" {
		t.Errorf("files %v modes %v", got, modes)
	}
	for _, p := range []string{"/srv/app/old", "/etc/secret", "/app/conf"} {
		if _, ok := got[p]; ok {
			t.Errorf("%s is in the image", p)
		}
	}
	if _, err := Write(t.Context(), filepath.Join(t.TempDir(), "out"), describe(t, `{"name":"x","files":{"/u":{"target":"/u"}},"annotations":{"unikernelType":"linux","hypervisor":"qemu","binary":"/u"}}`)); err == nil || !strings.Contains(err.Error(), `files."/u": a copy out of an image is { image`) {
		t.Errorf("a files entry with no image: %v", err)
	}
	for _, tc := range []struct{ js, want string }{
		{`{"image":` + quoted(tool) + `,"source":"/nothing","target":"/n"}`, `contents[0].image = "` + tool + `": /nothing: it has nothing at /nothing`},
		{`{"image":"r.io/tool:1","source":"/urunit","target":"/u"}`, `contents[0].image = "r.io/tool:1": a tag alone is not reproducible`},
		{`{"image":` + quoted(tool) + `,"source":"urunit","target":"/u"}`, `contents[0].source = "urunit": a path in the image must be absolute`},
	} {
		_, err := Write(t.Context(), filepath.Join(t.TempDir(), "out"), describe(t, `{"name":"x","contents":[`+tc.js+`],"annotations":{"unikernelType":"linux","hypervisor":"qemu","binary":"/u"}}`))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !IsUserError(err) {
			t.Errorf("%s: %v, want %q", tc.js, err, tc.want)
		}
	}
	// All of it as a raw rootfs: its top-level entries, stacked.
	kernel := filepath.Join(t.TempDir(), "kernel")
	os.WriteFile(kernel, []byte("k"), 0o644)
	f = writeOpen(t, `{"name":"x","files":{`+quoted(kernel)+`:"/kernel"},"rootfs":{"type":"raw","include":[{"image":`+quoted(tool)+`,"source":"/","target":"/"}]},
	  "annotations":{"unikernelType":"linux","hypervisor":"qemu","binary":"/kernel"}}`)
	rc3 := mutate.Extract(f.Images[0])
	defer rc3.Close()
	var names []string
	tr3 := tar.NewReader(rc3)
	for {
		h, err := tr3.Next()
		if err != nil {
			break
		}
		names = append(names, "/"+strings.TrimPrefix(h.Name, "/"))
	}
	for _, want := range []string{"/urunit", "/app/conf", "/app/link", "/etc/secret"} {
		if !slices.Contains(names, want) {
			t.Errorf("the raw rootfs lacks %s: %q", want, names)
		}
	}
	if slices.Contains(names, "/app/old") {
		t.Error("the raw rootfs holds /app/old, which the image whites out")
	}
	// Into a rootfs bunix builds: the initrd holds the file.
	f = writeOpen(t, `{"name":"x","files":{`+quoted(kernel)+`:"/kernel"},"rootfs":{"type":"initrd","include":[{"image":`+quoted(tool)+`,"source":"/urunit","target":"/init"}]},
	  "annotations":{"unikernelType":"linux","hypervisor":"qemu","binary":"/kernel"}}`)
	rc2 := mutate.Extract(f.Images[0])
	defer rc2.Close()
	all, _ := io.ReadAll(rc2)
	if !bytes.Contains(all, []byte("urunit binary")) {
		t.Error("the initrd does not hold /urunit's bytes")
	}
}

// TestRootfsLayerFromImage: the rootfs layer's builder (WriteRootfsLayer,
// nix-rootfs-layer) fetches an initrd's include out of an image, and
// urunit out of its image, as bunix build does (fetchCopies): its layer is
// the rootfs layer of the image Write writes, not a skipped one, and
// Write takes it as that layer.
func TestRootfsLayerFromImage(t *testing.T) {
	tool := toolImage(t)
	kernel := filepath.Join(files(t, "kernel"), "kernel")
	js := fmt.Sprintf(`{"version":%d,"name":"x","tag":"latest","contents":[{"source":%q,"target":"/kernel"}],"urunit":{"image":%q},"cmd":["/init"],
	  "rootfs":{"type":"initrd","include":[{"image":%q,"source":"/urunit","target":"/init"}]},
	  "annotations":{"unikernelType":"linux","hypervisor":"qemu","binary":"/kernel"}}`, args.SpecVersion, kernel, tool, tool)
	spec := func() []*args.Args {
		descs, err := args.DecodeSpec([]byte(js))
		if err != nil {
			t.Fatal(err)
		}
		return descs
	}
	out := filepath.Join(t.TempDir(), "out")
	if _, err := Write(context.Background(), out, spec()); err != nil {
		t.Fatal(err)
	}
	f, err := image.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	layers, err := f.Images[0].Layers()
	if err != nil {
		t.Fatal(err)
	}
	var digests []string
	for _, l := range layers {
		d, _ := l.DiffID()
		digests = append(digests, d.String())
	}
	dir := filepath.Join(t.TempDir(), "layer")
	if err := WriteRootfsLayer(context.Background(), dir, spec()); err != nil {
		t.Fatal(err)
	}
	if why, err := os.ReadFile(filepath.Join(dir, layerSkippedName)); err == nil {
		t.Fatalf("the rootfs layer was skipped: %s", why)
	}
	read, err := ReadLayers([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(read) != 1 || !slices.Contains(digests, read[0].Blob.DiffID.String()) {
		t.Fatalf("the rootfs layer %v is none of the image's layers %q", read, digests)
	}
	// The image's build takes it as its rootfs layer: the layer's key
	// names what was copied out of the image, not where it was extracted
	// to, which differs from one build to the next.
	again := filepath.Join(t.TempDir(), "again")
	if _, err := Write(context.Background(), again, spec(), WithPrebuilt(read)); err != nil {
		t.Fatalf("building with the rootfs layer: %v", err)
	}
	if !bytes.Equal(testenv.ReadFile(t, again), testenv.ReadFile(t, out)) {
		t.Error("the image built with the rootfs layer differs")
	}
}
