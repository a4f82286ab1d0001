package build

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// toolImage writes, as an OCI layout, an image whose two layers hold an
// executable /urunit, a directory /app (a file, a symlink, and a file the
// second layer whites out) and /etc/secret.
func toolImage(t *testing.T) string {
	t.Helper()
	layer := func(entries ...tar.Header) v1.Layer {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, h := range entries {
			data := h.Linkname
			if h.Typeflag == tar.TypeReg {
				h.Linkname, h.Size = "", int64(len(data))
			}
			tw.WriteHeader(&h)
			if h.Typeflag == tar.TypeReg {
				tw.Write([]byte(data))
			}
		}
		tw.Close()
		raw := buf.Bytes()
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil })
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	// For a regular file, Linkname carries its content here.
	img, err := mutate.AppendLayers(empty.Image,
		layer(tar.Header{Name: "urunit", Typeflag: tar.TypeReg, Mode: 0o755, Linkname: "urunit binary"},
			tar.Header{Name: "app/", Typeflag: tar.TypeDir, Mode: 0o755},
			tar.Header{Name: "app/conf", Typeflag: tar.TypeReg, Mode: 0o600, Linkname: "conf"},
			tar.Header{Name: "app/old", Typeflag: tar.TypeReg, Mode: 0o644, Linkname: "old"},
			tar.Header{Name: "app/link", Typeflag: tar.TypeSymlink, Linkname: "conf"},
			tar.Header{Name: "etc/secret", Typeflag: tar.TypeReg, Mode: 0o644, Linkname: "s"}),
		layer(tar.Header{Name: "app/.wh.old", Typeflag: tar.TypeReg, Mode: 0o644}))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "tool")
	if _, err := layout.Write(dir, mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}})); err != nil {
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
	rc := mutate.Extract(f.Images[0])
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		b, _ := io.ReadAll(tr)
		got["/"+strings.TrimPrefix(h.Name, "/")] = string(b) + h.Linkname
		modes["/"+strings.TrimPrefix(h.Name, "/")] = h.Mode
	}
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
