package build

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/image"
)

// baseFiles writes testenv.BaseImage, compressed as c, in the three
// formats bunix reads: an OCI layout directory, an oci-archive (that
// directory in a tar) and a docker-archive.
func baseFiles(t *testing.T, c compression.Compression) (dir, ociArchive, dockerArchive string, img v1.Image) {
	t.Helper()
	idx, img := testenv.BaseImage(t, c, "")
	tmp := t.TempDir()
	dir = filepath.Join(tmp, "layout")
	if _, err := layout.Write(dir, idx); err != nil {
		t.Fatal(err)
	}
	ociArchive = filepath.Join(tmp, "base.oci.tar")
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		tw.WriteHeader(&tar.Header{Name: rel, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg})
		_, err = tw.Write(data)
		return err
	})
	tw.Close()
	if err := os.WriteFile(ociArchive, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	dockerArchive = filepath.Join(tmp, "base.docker.tar")
	if c != compression.ZStd {
		tag, _ := name.NewTag("unikraft.org/nginx:1.15")
		if err := tarball.WriteToFile(dockerArchive, tag, img); err != nil {
			t.Fatal(err)
		}
	}
	return dir, ociArchive, dockerArchive, img
}

func describe(t *testing.T, js string) []*args.Args {
	t.Helper()
	a, err := args.DecodeJSON([]byte(js), "args.json", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return []*args.Args{a}
}

// writeOpen writes the image of the description js to a new file (or,
// for the oci format, directory) with opts, and opens it for the rest of
// the test.
func writeOpen(t *testing.T, js string, opts ...Option) *image.File {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	if _, err := Write(context.Background(), out, describe(t, js), opts...); err != nil {
		t.Fatal(err)
	}
	f, err := image.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func quoted(s string) string { b, _ := json.Marshal(s); return string(b) }

// TestWriteOnBase builds on the base in each of its formats, writes each
// output format, and reads the result back: the base's layers first, as
// they are; Env, Entrypoint, WorkingDir and non-urunc Labels inherited; the
// base's urunc settings the defaults, the description's cmdline winning;
// os linux.
func TestWriteOnBase(t *testing.T) {
	dir, ociArchive, dockerArchive, baseImg := baseFiles(t, compression.GZip)
	baseManifest, _ := baseImg.Manifest()
	baseConfig, _ := baseImg.ConfigFile()
	for _, from := range []string{dir, ociArchive, dockerArchive} {
		for _, format := range []string{"oci-archive", "docker-archive", "oci"} {
			t.Run(filepath.Base(from)+"/"+format, func(t *testing.T) {
				src := files(t, "extra")
				f := writeOpen(t, `{"name":"x","format":"`+format+`","from":`+quoted(from)+`,
					"files":{`+quoted(filepath.Join(src, "extra"))+`:"/unikernel/extra"},
					"annotations":{"cmdline":"-c /etc/other.conf"}}`)
				img := f.Images[0]
				layers, _ := img.Layers()
				if len(layers) != 4 {
					t.Fatalf("%d layers, want the base's 2 + extra + urunc.json", len(layers))
				}
				for i, bl := range baseManifest.Layers {
					d, _ := layers[i].Digest()
					if d != bl.Digest {
						t.Errorf("layer %d is %s, the base's is %s", i, d, bl.Digest)
					}
				}
				cf, _ := img.ConfigFile()
				if cf.OS != "linux" || cf.Architecture != "amd64" {
					t.Errorf("platform %s/%s", cf.OS, cf.Architecture)
				}
				if !slices.Equal(cf.RootFS.DiffIDs[:2], baseConfig.RootFS.DiffIDs) {
					t.Errorf("diffIDs %v, base %v", cf.RootFS.DiffIDs, baseConfig.RootFS.DiffIDs)
				}
				c := cf.Config
				if !slices.Equal(c.Env, []string{"PATH=/bin", "BASE=1"}) || c.WorkingDir != "/etc" {
					t.Errorf("not inherited: env %q workdir %q", c.Env, c.WorkingDir)
				}
				if c.Entrypoint != nil || !slices.Equal(c.Cmd, []string{"-c", "/etc/other.conf"}) {
					t.Errorf("entrypoint %q cmd %q: the description's cmdline should replace both", c.Entrypoint, c.Cmd)
				}
				want := map[string]string{
					"org.opencontainers.image.vendor":   "the base",
					"com.urunc.unikernel.binary":        "/unikraft/bin/kernel",
					"com.urunc.unikernel.unikernelType": "unikraft",
					"com.urunc.unikernel.cmdline":       "-c /etc/other.conf",
				}
				for k, v := range want {
					if c.Labels[k] != v {
						t.Errorf("label %s = %q, want %q", k, c.Labels[k], v)
					}
				}
				n := 0
				for _, h := range cf.History {
					if !h.EmptyLayer {
						n++
					}
				}
				if n != 4 {
					t.Errorf("%d non-empty history entries for 4 layers", n)
				}
			})
		}
	}
}

// TestWriteOnBaseNoFiles: a base and annotations alone make an image; the
// base's Entrypoint and Cmd stay when the description gives no command.
func TestWriteOnBaseNoFiles(t *testing.T) {
	dir, _, _, _ := baseFiles(t, compression.GZip)
	f := writeOpen(t, `{"name":"x","from":`+quoted(dir)+`,"annotations":{"unikernelVersion":"0.17.0"}}`)
	cf, _ := f.Images[0].ConfigFile()
	if !slices.Equal(cf.Config.Entrypoint, []string{"/unikraft/bin/kernel"}) || !slices.Equal(cf.Config.Cmd, []string{"-c", "/etc/app.conf"}) || cf.Config.Labels["com.urunc.unikernel.unikernelVersion"] != "0.17.0" {
		t.Errorf("cmd %q labels %v", cf.Config.Cmd, cf.Config.Labels)
	}
	rc, err := f.Images[0].Layers()
	if err != nil || len(rc) != 3 {
		t.Fatalf("layers %d %v", len(rc), err)
	}
}

// TestBaseErrors: each bad base is the user's error, names the base, and
// leaves nothing at the output.
func TestBaseErrors(t *testing.T) {
	dir, _, _, _ := baseFiles(t, compression.GZip)
	zdir, _, _, _ := baseFiles(t, compression.ZStd)
	notImage := filepath.Join(t.TempDir(), "not-an-image.tar")
	os.WriteFile(notImage, []byte("hello"), 0o644)
	corrupt := filepath.Join(t.TempDir(), "corrupt")
	copyDir(t, dir, corrupt)
	corruptLayer(t, corrupt)
	// A zstd layer the docker-archive cannot hold is refused from its first
	// bytes: a corruption further in is never reached.
	zcorrupt := filepath.Join(t.TempDir(), "zcorrupt")
	copyDir(t, zdir, zcorrupt)
	corruptLayer(t, zcorrupt)
	badSettings := filepath.Join(t.TempDir(), "bad.tar")
	if _, err := Write(context.Background(), badSettings+".orig", describe(t, `{"name":"x","from":`+quoted(dir)+`,"annotations":{"unikernelVersion":"0.17.0"}}`)); err != nil {
		t.Fatal(err)
	}
	relabel(t, badSettings)
	cases := []struct {
		name, js string
		want     []string
	}{
		{"path neither has", `{"name":"x","from":` + quoted(dir) + `,"annotations":{"initrd":"/boot/initrd"}}`,
			[]string{`annotations.initrd = "/boot/initrd"`, "neither the image's files nor the base " + dir}},
		{"a directory of the base", `{"name":"x","from":` + quoted(dir) + `,"annotations":{"binary":"/etc"}}`,
			[]string{`annotations.binary = "/etc"`, "the base " + dir + " has a directory there"}},
		{"a file the base whited out", `{"name":"x","from":` + quoted(dir) + `,"annotations":{"block":"/etc/old","blkMntPoint":"/data"}}`,
			[]string{`annotations.block = "/etc/old"`, "neither"}},
		{"no image for the monitor", `{"name":"x","from":` + quoted(dir) + `,"annotations":{"hypervisor":"firecracker"}}`,
			[]string{`from = "` + dir + `"`, "it has no image for amd64 for the hypervisor firecracker: want os fc or linux (it has: qemu/amd64)"}},
		{"no image for the architecture", `{"name":"x","architecture":"arm64","from":` + quoted(dir) + `}`,
			[]string{"from = " + quoted(dir), "no image for the architecture arm64 (it has: qemu/amd64)"}},
		{"not an image", `{"name":"x","from":` + quoted(notImage) + `}`,
			[]string{"from = " + quoted(notImage), "not a tar archive"}},
		{"missing", `{"name":"x","from":"/no/such/base"}`, []string{`from = "/no/such/base"`, "no such file"}},
		{"corrupt layer", `{"name":"x","from":` + quoted(corrupt) + `}`, []string{"from = " + quoted(corrupt), "layer 0"}},
		{"zstd into docker-archive", `{"name":"x","from":` + quoted(zdir) + `}`, []string{"zstd", "docker-archive format cannot hold"}},
		{"zstd into docker-archive, from its first bytes", `{"name":"x","from":` + quoted(zcorrupt) + `}`,
			[]string{"from = " + quoted(zcorrupt), "layer 0", `is zstd-compressed, which the docker-archive format cannot hold (docker load refuses it): write format = "oci-archive" or format = "oci"`}},
		{"a bad setting the base carries", `{"name":"x","from":` + quoted(badSettings) + `}`,
			[]string{"the base " + badSettings + " (its label com.urunc.unikernel.hypervisor): annotations.hypervisor = \"kvm\": unknown hypervisor"}},
		{"bad digest", `{"name":"x","from":{"ref":"r.example/a:1","digest":"sha256:abc","hash":"sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}}`, []string{`from.digest = "sha256:abc"`, "64 lower-case hex"}},
		{"bad ref", `{"name":"x","from":"UPPER/x:1@sha256:` + strings.Repeat("a", 64) + `"}`, []string{`from = "UPPER/x:1@sha256:`, "not a valid image reference"}},
		{"bad hash", `{"name":"x","from":{"ref":"r.example/a:1","digest":"sha256:` + strings.Repeat("a", 64) + `","hash":"md5-x"}}`, []string{`from.hash = "md5-x"`, "not a Nix hash"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.tar")
			_, err := Write(context.Background(), out, describe(t, c.js))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if !IsUserError(err) {
				t.Errorf("not a user error: %v", err)
			}
			if _, serr := os.Lstat(out); serr == nil {
				t.Errorf("%s was written", out)
			}
		})
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	filepath.Walk(from, func(p string, fi os.FileInfo, err error) error {
		rel, _ := filepath.Rel(from, p)
		if fi.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		data, _ := os.ReadFile(p)
		return os.WriteFile(filepath.Join(to, rel), data, 0o644)
	})
}

// corruptLayer flips a byte of the first layer blob of the layout dir.
func corruptLayer(t *testing.T, dir string) {
	t.Helper()
	f, err := image.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := f.Images[0].Manifest()
	f.Close()
	p := filepath.Join(dir, "blobs", "sha256", m.Layers[0].Digest.Hex)
	data, _ := os.ReadFile(p)
	data[len(data)/2] ^= 0xff
	os.WriteFile(p, data, 0o644)
}

// TestWriteOnZstdBase: a zstd base goes into the OCI formats as it is.
func TestWriteOnZstdBase(t *testing.T) {
	zdir, _, _, zimg := baseFiles(t, compression.ZStd)
	f := writeOpen(t, `{"name":"x","format":"oci-archive","compression":"gzip","from":`+quoted(zdir)+`}`)
	m, _ := f.Images[0].Manifest()
	bm, _ := zimg.Manifest()
	if m.Layers[0].Digest != bm.Layers[0].Digest || m.Layers[0].MediaType != "application/vnd.oci.image.layer.v1.tar+zstd" || m.Layers[2].MediaType != "application/vnd.oci.image.layer.v1.tar+gzip" {
		t.Errorf("layers %+v", m.Layers)
	}
}

// relabel writes p from the docker-archive p.orig with the hypervisor
// label "kvm", which urunc does not know, through go-containerregistry.
func relabel(t *testing.T, p string) {
	t.Helper()
	img, err := tarball.ImageFromPath(p+".orig", nil)
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.Config.Labels["com.urunc.unikernel.hypervisor"] = "kvm"
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag("x:latest")
	if err := tarball.WriteToFile(p, tag, img); err != nil {
		t.Fatal(err)
	}
}

// TestBaseProcessOverride: env overrides the base's by name and adds to
// it; a command given in any form replaces the base's Entrypoint and Cmd
// both (so that urunc's cmdline and the process args agree), and the
// base's cmdline label does not contradict it.
func TestBaseProcessOverride(t *testing.T) {
	dir, _, _, _ := baseFiles(t, compression.GZip)
	for _, tc := range []struct {
		extra           string
		env, entry, cmd []string
		cmdline         string
	}{
		{`"env":{"BASE":"2","NEW":"x"}`, []string{"PATH=/bin", "BASE=2", "NEW=x"}, []string{"/unikraft/bin/kernel"}, []string{"-c", "/etc/app.conf"}, "-c /etc/app.conf"},
		{`"cmd":["-c","/etc/b.conf"]`, []string{"PATH=/bin", "BASE=1"}, nil, []string{"-c", "/etc/b.conf"}, "-c /etc/b.conf"},
		{`"entrypoint":["/k"]`, []string{"PATH=/bin", "BASE=1"}, []string{"/k"}, nil, "/k"},
	} {
		out := filepath.Join(t.TempDir(), "out.tar")
		var warnings []string
		if _, err := Write(context.Background(), out, describe(t, `{"name":"x","from":`+quoted(dir)+`,`+tc.extra+`}`), WithWarnings(func(w string) { warnings = append(warnings, w) })); err != nil {
			t.Fatalf("%s: %v", tc.extra, err)
		}
		f, err := image.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		cf, _ := f.Images[0].ConfigFile()
		f.Close()
		c := cf.Config
		if !slices.Equal(c.Env, tc.env) || !slices.Equal(c.Entrypoint, tc.entry) || !slices.Equal(c.Cmd, tc.cmd) || c.Labels["com.urunc.unikernel.cmdline"] != tc.cmdline {
			t.Errorf("%s: env %q entrypoint %q cmd %q cmdline %q", tc.extra, c.Env, c.Entrypoint, c.Cmd, c.Labels["com.urunc.unikernel.cmdline"])
		}
		if len(warnings) > 0 {
			t.Errorf("%s: warnings %q", tc.extra, warnings)
		}
	}
}
