package build

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// linkImage writes, as an OCI layout, an image whose one layer holds the
// symlink /app pointing at target.
func linkImage(t *testing.T, target string) string {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "app", Typeflag: tar.TypeSymlink, Linkname: target})
	tw.Close()
	raw := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "tool")
	if _, err := layout.Write(dir, mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}})); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestCopyFromImageLinkOut: a path in another image that is a symlink to
// a directory of the host running bunix copies none of the host's files,
// whatever the target (a tree copied to / was read through it): the
// image's symlink is refused, named as the image's path.
func TestCopyFromImageLinkOut(t *testing.T) {
	host := t.TempDir()
	os.WriteFile(filepath.Join(host, "secret"), []byte("host secret"), 0o644)
	tool := linkImage(t, host)
	kernel := filepath.Join(t.TempDir(), "kernel")
	os.WriteFile(kernel, []byte("k"), 0o644)
	for _, js := range []string{
		`{"name":"x","files":{` + quoted(kernel) + `:"/kernel"},"contents":[{"image":` + quoted(tool) + `,"source":"/app","target":"/srv"}],"annotations":{"unikernelType":"linux","hypervisor":"qemu","binary":"/kernel"}}`,
		`{"name":"x","files":{` + quoted(kernel) + `:"/kernel"},"contents":[{"image":` + quoted(tool) + `,"source":"/app","target":"/"}],"annotations":{"unikernelType":"linux","hypervisor":"qemu","binary":"/kernel"}}`,
		`{"name":"x","files":{` + quoted(kernel) + `:"/kernel"},"rootfs":{"type":"raw","include":[{"image":` + quoted(tool) + `,"source":"/app","target":"/"}]},"annotations":{"unikernelType":"linux","hypervisor":"qemu","binary":"/kernel"}}`,
	} {
		out := filepath.Join(t.TempDir(), "out")
		_, err := Write(t.Context(), out, describe(t, js))
		if b, _ := os.ReadFile(out); bytes.Contains(b, []byte("host secret")) {
			t.Errorf("%s: the host's file is in the image", js)
		}
		if err == nil || !IsUserError(err) || !strings.Contains(err.Error(), "/app is a symbolic link (to "+quoted(host)+"), not a file or a directory") {
			t.Errorf("%s: %v", js, err)
		}
	}
}

// TestCopyFromImageRootLink: a tree copied to / whose top holds a symlink
// (/bin -> usr/bin, as merged-/usr images have) is refused naming the
// image's path and the link, not a temporary file of bunix.
func TestCopyFromImageRootLink(t *testing.T) {
	tool := linkImage(t, "usr/bin")
	kernel := filepath.Join(t.TempDir(), "kernel")
	os.WriteFile(kernel, []byte("k"), 0o644)
	_, err := Write(t.Context(), filepath.Join(t.TempDir(), "out"), describe(t, `{"name":"x","files":{`+quoted(kernel)+`:"/kernel"},"rootfs":{"type":"raw","include":[{"image":`+quoted(tool)+`,"source":"/","target":"/"}]},"annotations":{"unikernelType":"linux","hypervisor":"qemu","binary":"/kernel"}}`))
	if err == nil || !IsUserError(err) || strings.Contains(err.Error(), ".bunix-sources") || !strings.Contains(err.Error(), `rootfs.include[0].image = `+quoted(tool)+`: /: /app is a symbolic link (to "usr/bin")`) {
		t.Error(err)
	}
}
