package nix_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/nubificus/bunix/internal/testenv"
)

// argsWith writes an args.nix for the hello example with absolute sources
// and extra attributes, so that the CLI and nix-build read the same file.
func argsWith(t *testing.T, extra string) string {
	t.Helper()
	root := testenv.ModuleRoot(t)
	p := filepath.Join(t.TempDir(), "args.nix")
	src := fmt.Sprintf(`{
  name = "bunix/hello";
  tag = "dist";
  files = { %q = "/unikernel/kernel"; %q = "/conf/hello.conf"; };
  annotations = { unikernelType = "unikraft"; hypervisor = "qemu"; binary = "/unikernel/kernel"; cmdline = "hello /conf/hello.conf"; };
  %s
}`, filepath.Join(root, "examples/hello/kernel"), filepath.Join(root, "examples/hello/hello.conf"), extra)
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// sameTree compares two files or directories byte for byte, following
// the symlinks of a Nix-built OCI layout's layer blobs (linkedBlobs checks
// them).
func sameTree(t *testing.T, a, b string) {
	t.Helper()
	out, err := exec.Command("diff", "-r", a, b).CombinedOutput()
	if err != nil {
		t.Errorf("%s and %s differ: %v\n%s", a, b, err, out)
	}
}

// linkedBlobs checks the OCI layout dir that nix-build wrote: its blobs
// are n symlinks into layer outputs in the store, and the rest (config,
// manifest) regular files.
func linkedBlobs(t *testing.T, dir string, n int) {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	links := 0
	for _, e := range ents {
		p := filepath.Join(dir, "blobs", "sha256", e.Name())
		if e.Type()&os.ModeSymlink == 0 {
			continue
		}
		target, err := os.Readlink(p)
		if err != nil || !strings.HasPrefix(target, "/nix/store/") || !strings.HasSuffix(target, "/blob") {
			t.Errorf("blob %s links to %q (%v), want a layer output's blob", e.Name(), target, err)
		}
		links++
	}
	if links != n {
		t.Errorf("%d of %d blobs are symlinks, want %d", links, len(ents), n)
	}
}

// TestOCIFormats builds each OCI format with every compression through Nix
// and the CLI: same bytes, `nix-build --check` passes, and skopeo reads the
// urunc settings as manifest annotations.
func TestOCIFormats(t *testing.T) {
	root := testenv.ModuleRoot(t)
	skopeo := testenv.Require(t, "skopeo")
	for _, tc := range []struct{ format, compression, transport string }{
		{"oci-archive", "none", "oci-archive:"},
		{"oci-archive", "gzip", "oci-archive:"},
		{"oci", "zstd", "oci:"},
		{"docker-archive", "gzip", "docker-archive:"},
	} {
		t.Run(tc.format+"-"+tc.compression, func(t *testing.T) {
			a := argsWith(t, fmt.Sprintf(`format = %q; compression = %q;`, tc.format, tc.compression))
			out := nixBuild(t, "--arg", "args", a)
			cli := filepath.Join(t.TempDir(), "image")
			bunixCLI(t, "", nil, "build", "-f", a, "-o", cli)
			sameTree(t, out, cli)
			if tc.format == "oci" {
				linkedBlobs(t, out, 2) // the kernel and the config file
			}
			if _, stderr, err := testenv.NixBuild(t, root, filepath.Join(root, "default.nix"), "--arg", "bunix", testenv.Bunix(t), "--arg", "args", a, "--check"); err != nil {
				t.Errorf("nix-build --check: %v\n%s", err, stderr)
			}
			raw, err := exec.Command(skopeo, "inspect", "--raw", tc.transport+out).Output()
			if err != nil {
				t.Fatalf("skopeo inspect --raw: %v", err)
			}
			if tc.format == "docker-archive" {
				return // no manifest of its own
			}
			m, err := v1.ParseManifest(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			for k, want := range map[string]string{
				"com.urunc.unikernel.binary": "/unikernel/kernel", "com.urunc.unikernel.mountRootfs": "false",
				"org.opencontainers.image.created": "1970-01-01T00:00:01Z", "org.opencontainers.image.title": "bunix/hello",
				"org.opencontainers.image.version": "dist",
			} {
				if m.Annotations[k] != want {
					t.Errorf("manifest annotation %s = %q, want %q", k, m.Annotations[k], want)
				}
			}
			if tc.compression != "none" && !strings.Contains(string(m.Layers[0].MediaType), tc.compression) {
				t.Errorf("layer media type %s for %s", m.Layers[0].MediaType, tc.compression)
			}
			if tc.compression == "zstd" {
				return // the Docker formats cannot hold zstd layers
			}
			// skopeo can turn it into a docker-archive too.
			dst := filepath.Join(t.TempDir(), "copy.tar")
			if out, err := exec.Command(skopeo, "copy", tc.transport+out, "docker-archive:"+dst+":bunix/hello:dist").CombinedOutput(); err != nil {
				t.Errorf("skopeo copy: %v\n%s", err, out)
			}
		})
	}
}

// indexExpr is a Nix expression for a two-architecture index of the hello
// image, or, with the same architecture twice, a wrong one.
func indexExpr(t *testing.T, archs ...string) string {
	root := testenv.ModuleRoot(t)
	var list []string
	for _, a := range archs {
		list = append(list, fmt.Sprintf("(img %q)", a))
	}
	return fmt.Sprintf(`let
  lib = import %s/nix/lib.nix;
  bunix = %s;
  img = architecture: lib.buildImage ((import %s/args.nix) // { root = %s; inherit architecture bunix; });
in lib.buildImageIndex { images = [ %s ]; inherit bunix; }`, root, testenv.Bunix(t), root, root, strings.Join(list, " "))
}

// TestImageIndex: buildImageIndex writes one oci-archive whose index names
// an image per platform; two images of one platform are refused.
func TestImageIndex(t *testing.T) {
	root := testenv.ModuleRoot(t)
	out, stderr, err := testenv.NixBuild(t, root, "--expr", indexExpr(t, "amd64", "arm64"))
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	raw, err := exec.Command(testenv.Require(t, "skopeo"), "inspect", "--raw", "oci-archive:"+out).Output()
	if err != nil {
		t.Fatal(err)
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var platforms []string
	for _, d := range idx.Manifests {
		platforms = append(platforms, d.Platform.String())
	}
	if fmt.Sprint(platforms) != "[linux/amd64 linux/arm64]" {
		t.Errorf("index platforms %v:\n%s", platforms, raw)
	}
	if reports := reportsOf(t, bunixCLI(t, "", nil, "inspect", "--json", out)); len(reports) != 2 || reports[1].Architecture != "arm64" {
		t.Fatalf("bunix inspect of the index: %+v", reports)
	}
	_, stderr, err = testenv.NixBuild(t, root, "--expr", indexExpr(t, "amd64", "x86_64"))
	if err == nil || !strings.Contains(stderr, `images[1].architecture = "x86_64": images[0] is for linux/amd64 too: an index holds one image per platform`) {
		t.Errorf("an index of two amd64 images: %v\n%s", err, stderr)
	}
}

// TestRegistry pushes the OCI outputs to a real registry (Debian's
// docker-registry) and fetches the manifests back over HTTP: same digests,
// annotations intact. A read-only registry refuses, and the push fails.
func TestRegistry(t *testing.T) {
	root := testenv.ModuleRoot(t)
	reg := testenv.Registry(t)
	single := nixBuild(t, "--arg", "args", argsWith(t, `format = "oci-archive";`))
	index, stderr, err := testenv.NixBuild(t, root, "--expr", indexExpr(t, "amd64", "arm64"))
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	for _, tc := range []struct{ file, repo string }{{single, "urunc/single"}, {index, "urunc/index"}} {
		ref := reg.Addr + "/" + tc.repo + ":test"
		pushed := strings.TrimSpace(bunixCLI(t, "", nil, "push", "--insecure", tc.file, ref))
		body, digest, mediaType := reg.Manifest(t, tc.repo, "test")
		if pushed != reg.Addr+"/"+tc.repo+"@"+digest {
			t.Errorf("bunix push printed %s; the registry serves %s", pushed, digest)
		}
		for _, r := range reportsOf(t, bunixCLI(t, "", nil, "inspect", "--json", "--insecure", ref)) {
			if r.Urunc["binary"] != "/unikernel/kernel" {
				t.Errorf("%s read back from the registry: %+v", ref, r)
			}
		}
		if tc.file == single {
			m, err := v1.ParseManifest(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			local := bunixCLI(t, "", nil, "inspect", "--json", tc.file)
			if m.Annotations["com.urunc.unikernel.unikernelType"] != "unikraft" || !strings.Contains(local, digest) || mediaType != "application/vnd.oci.image.manifest.v1+json" {
				t.Errorf("%s: %s %s %s", ref, mediaType, digest, body)
			}
		} else if mediaType != "application/vnd.oci.image.index.v1+json" {
			t.Errorf("%s is a %s, want an index", ref, mediaType)
		}
	}

	ro := testenv.Registry(t, testenv.ReadOnly())
	cmd := exec.Command(filepath.Join(testenv.Bunix(t), "bin", "bunix"), "push", "--insecure", single, ro.Addr+"/urunc/x:1")
	var stdout, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &errb
	if err := cmd.Run(); err == nil || stdout.Len() != 0 || !strings.Contains(errb.String(), "pushing "+single+" to "+ro.Addr+"/urunc/x:1") {
		t.Errorf("push to a read-only registry: %v, stdout %q, stderr %q", err, stdout.String(), errb.String())
	}
}

// TestContainerdOCI imports the oci-archive into a private containerd: the
// manifest, and with it the urunc annotations, is kept byte for byte.
func TestContainerdOCI(t *testing.T) {
	out := nixBuild(t, "--arg", "args", argsWith(t, `format = "oci-archive";`))
	c := testenv.Containerd(t)
	if _, err := c.Ctr(t, "images", "import", out); err != nil {
		t.Fatal(err)
	}
	_, digest := c.ImageTarget(t, "docker.io/bunix/hello:dist")
	m, err := v1.ParseManifest(strings.NewReader(c.Content(t, digest)))
	if err != nil {
		t.Fatal(err)
	}
	if m.Annotations["com.urunc.unikernel.binary"] != "/unikernel/kernel" || m.Annotations["com.urunc.unikernel.useDMBlock"] != "false" {
		t.Errorf("containerd's manifest annotations: %v", m.Annotations)
	}
}

// reportsOf decodes `bunix inspect --json`: one report, or a list of them
// for an index.
func reportsOf(t *testing.T, out string) []report {
	t.Helper()
	var list []report
	if strings.HasPrefix(strings.TrimSpace(out), "[") {
		if err := json.Unmarshal([]byte(out), &list); err != nil {
			t.Fatal(err)
		}
		return list
	}
	var one report
	if err := json.Unmarshal([]byte(out), &one); err != nil {
		t.Fatal(err)
	}
	return []report{one}
}
