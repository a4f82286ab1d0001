package testenv

import (
	"archive/tar"
	"bytes"
	"io"
	"testing"

	"github.com/google/go-containerregistry/pkg/compression"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// BaseKernel is what the kernel file of BaseImage holds, at
// /unikraft/bin/kernel.
const BaseKernel = "a unikraft kernel, at /unikraft/bin/kernel, where kraft pkg puts it\n"

// BaseImage returns a unikernel image the way kraft pkg and bunny make
// them, made with go-containerregistry rather than bunix: an index whose
// only image is for os qemu on amd64, with Env, Entrypoint, Cmd,
// WorkingDir and Labels (the urunc settings of a unikraft guest on qemu,
// and one more label) in its config, and two layers compressed as c: the
// first holds /unikraft/bin/kernel and /etc/old, the second whites out
// /etc/old and adds /etc/app.conf. A salt other than "" goes into one more
// label, making an image no earlier test run made (and no store path Nix
// already has).
func BaseImage(t testing.TB, c compression.Compression, salt string) (v1.ImageIndex, v1.Image) {
	t.Helper()
	mt := types.OCILayer
	if c == compression.ZStd {
		mt = types.OCILayerZStd
	}
	layer := func(files map[string]string, dirs ...string) v1.Layer {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, d := range dirs {
			tw.WriteHeader(&tar.Header{Name: d + "/", Typeflag: tar.TypeDir, Mode: 0o755})
		}
		for _, name := range []string{"unikraft/bin/kernel", "etc/old", "etc/.wh.old", "etc/app.conf"} {
			data, ok := files[name]
			if !ok {
				continue
			}
			tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data))})
			tw.Write([]byte(data))
		}
		tw.Close()
		raw := buf.Bytes()
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil },
			tarball.WithCompression(c), tarball.WithMediaType(mt))
		if err != nil {
			t.Fatalf("making a base layer: %v", err)
		}
		return l
	}
	img, err := mutate.AppendLayers(empty.Image,
		layer(map[string]string{"unikraft/bin/kernel": BaseKernel, "etc/old": "old\n"}, "unikraft", "unikraft/bin", "etc"),
		layer(map[string]string{"etc/.wh.old": "", "etc/app.conf": "worker_processes 1;\n"}, "etc"))
	if err != nil {
		t.Fatalf("making the base image: %v", err)
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "qemu", "amd64"
	cf.Config = v1.Config{
		Env:        []string{"PATH=/bin", "BASE=1"},
		Entrypoint: []string{"/unikraft/bin/kernel"},
		Cmd:        []string{"-c", "/etc/app.conf"},
		WorkingDir: "/etc",
		Labels: map[string]string{
			"com.urunc.unikernel.unikernelType": "unikraft",
			"com.urunc.unikernel.hypervisor":    "qemu",
			"com.urunc.unikernel.binary":        "/unikraft/bin/kernel",
			"com.urunc.unikernel.cmdline":       "-c /etc/app.conf",
			"org.opencontainers.image.vendor":   "the base",
		},
	}
	if salt != "" {
		cf.Config.Labels["org.bunix.test.salt"] = salt
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "qemu", Architecture: "amd64"}}})
	return idx, img
}
