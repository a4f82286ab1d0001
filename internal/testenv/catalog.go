package testenv

import (
	"archive/tar"
	"bytes"
	"io"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// CatalogPlatform is one image of a CatalogIndex: the monitor kraft pkg
// packaged it for, as the os of its platform ("qemu", "fc"), and the
// files kraft puts in it.
type CatalogPlatform struct {
	OS string
	// Kernel is what /unikraft/bin/kernel holds.
	Kernel string
	// Initrd is what /unikraft/bin/initrd holds; "" for no initrd.
	Initrd string
}

// CatalogCmd is the Cmd of every image of a CatalogIndex: what kraft pkg
// --args writes.
var CatalogCmd = []string{"-c", "/nginx/conf/nginx.conf"}

// CatalogIndex returns an index shaped as kraftkit's kraft pkg writes a
// Unikraft catalog image (unikraft.org/nginx:1.15): an OCI index with one
// OCI manifest per platform, the platform's os the monitor and its
// architecture Unikraft's name, x86_64; each image's config says the same
// os and architecture and has Cmd CatalogCmd and no urunc label; its
// layers are uncompressed (application/vnd.oci.image.layer.v1.tar), one
// per file, holding /unikraft/bin/kernel and, when the platform has one,
// /unikraft/bin/initrd, under absolute names as kraftkit writes them. A
// salt other than "" goes into the kernels, making an index no earlier
// test run made (and no store path Nix already has).
func CatalogIndex(t testing.TB, salt string, platforms ...CatalogPlatform) v1.ImageIndex {
	t.Helper()
	layer := func(name, data string) v1.Layer {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data))})
		tw.Write([]byte(data))
		tw.Close()
		raw := buf.Bytes()
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil },
			tarball.WithMediaType(types.OCIUncompressedLayer))
		if err != nil {
			t.Fatalf("making a catalog layer: %v", err)
		}
		return l
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range platforms {
		layers := []v1.Layer{layer("/unikraft/bin/kernel", p.Kernel+salt)}
		if p.Initrd != "" {
			layers = append(layers, layer("/unikraft/bin/initrd", p.Initrd))
		}
		img, err := mutate.AppendLayers(mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON), layers...)
		if err != nil {
			t.Fatalf("making a catalog image: %v", err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture = p.OS, "x86_64"
		cf.Config = v1.Config{Cmd: CatalogCmd}
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
		img = mutate.Annotations(img, map[string]string{"org.unikraft.kernel.version": "0.17.0"}).(v1.Image)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{
			Platform:    &v1.Platform{OS: p.OS, Architecture: "x86_64"},
			Annotations: map[string]string{"org.unikraft.kernel.version": "0.17.0"},
		}})
	}
	return idx
}
