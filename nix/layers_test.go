package nix_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/registry"
)

// layeredDir writes a kernel of size random bytes (new to the store on
// every run) behind the 64-byte header of a little-endian ELF64
// executable for x86_64, so that the image's architecture check sees an
// amd64 kernel on every run rather than whatever machine the random bytes
// name, and a config file holding conf into a new directory. The whole
// header is fixed, not only the ident: pkg/arch looks for an arm64
// Image's magic at offset 56 before it looks at the ELF magic, and random
// bytes there would name arm64 once in 2^32 runs.
func layeredDir(t testing.TB, size int, conf string) string {
	t.Helper()
	dir := t.TempDir()
	kernel := make([]byte, size)
	rand.Read(kernel)
	// e_ident: magic, ELFCLASS64, ELFDATA2LSB, EV_CURRENT, padding;
	// e_type ET_EXEC; e_machine EM_X86_64 (62); the rest of the header
	// zero.
	header := make([]byte, 64)
	copy(header, "\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00")
	copy(kernel, header)
	if err := os.WriteFile(filepath.Join(dir, "kernel"), kernel, 0o755); err != nil {
		t.Fatal(err)
	}
	writeConf(t, dir, conf)
	return dir
}

// writeConf writes conf, and a random line that makes it new to the store,
// as dir/app.conf.
func writeConf(t testing.TB, dir, conf string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "app.conf"), []byte(conf+rand.Text()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// layeredExpr writes, for an image named name of the files in dir with
// extra attributes, an args file in dir (for the CLI) and a Nix file that
// builds it with buildImage, and returns both.
func layeredExpr(t testing.TB, dir, name, extra string) (args, expr string) {
	t.Helper()
	root := testenv.ModuleRoot(t)
	args = filepath.Join(dir, strings.ReplaceAll(name, "/", "-")+".nix")
	src := fmt.Sprintf(`{
  name = %q;
  files = { "./kernel" = "/unikernel/kernel"; "./app.conf" = "/conf/app.conf"; };
  annotations = { unikernelType = "unikraft"; hypervisor = "qemu"; binary = "/unikernel/kernel"; cmdline = "app /conf/app.conf"; };
  %s
}`, name, extra)
	if err := os.WriteFile(args, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	expr = filepath.Join(t.TempDir(), "image.nix")
	src = fmt.Sprintf(`(import %s/nix/lib.nix).buildImage (import %s // { root = %s; bunix = %s; })`, root, args, dir, testenv.Bunix(t))
	if err := os.WriteFile(expr, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return args, expr
}

// buildAndStream builds expr, a buildImage file from layeredExpr, and the
// streamImage of the same arguments, and returns the results of both and
// what the stream's build wrote on stderr.
func buildAndStream(t testing.TB, expr string) (image, stream, streamStderr string) {
	t.Helper()
	streamExpr := filepath.Join(t.TempDir(), "stream.nix")
	src := strings.Replace(string(testenv.ReadFile(t, expr)), ").buildImage", ").streamImage", 1)
	if err := os.WriteFile(streamExpr, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	image, stderr, err := testenv.NixBuild(t, "", expr)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	stream, streamStderr, err = testenv.NixBuild(t, "", streamExpr)
	if err != nil {
		t.Fatalf("%v\n%s", err, streamStderr)
	}
	return image, stream, streamStderr
}

// layerPaths evaluates the store paths of the layer derivations of the
// image in file, by target's base name.
func layerPaths(t *testing.T, file string) map[string]string {
	t.Helper()
	out, _, err := testenv.NixInstantiate(t, "", "--eval", "--strict", "--json", "-E",
		fmt.Sprintf(`map (l: { n = l.name; p = l.outPath; }) (import %s).bunixLayers`, file))
	if err != nil {
		t.Fatal(err)
	}
	var ls []struct{ N, P string }
	if err := json.Unmarshal([]byte(out), &ls); err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, l := range ls {
		m[l.N] = l.P
	}
	return m
}

var willBuild = regexp.MustCompile(`(?m)^\s+/nix/store/[0-9a-z]{32}-(\S+)\.drv$`)

// built returns the names of the derivations nix-build's stderr says it
// builds.
func built(stderr string) []string {
	var names []string
	for _, m := range willBuild.FindAllStringSubmatch(stderr, -1) {
		names = append(names, m[1])
	}
	slices.Sort(names)
	return names
}

// TestLayerDerivations: each copy's layer is a derivation of its own, whose
// store path depends on the file and its target, not on the image: two
// images that copy the same kernel share its layer; a changed config file
// rebuilds its own layer and the image, and nothing else; the image's bytes
// are those of `bunix build`; and `nix-build --check` passes for the image
// and for every layer.
func TestLayerDerivations(t *testing.T) {
	dir := layeredDir(t, 1<<20, "one\n")
	argsA, a := layeredExpr(t, dir, "bunix/a", "")
	_, b := layeredExpr(t, dir, "bunix/b", `tag = "other";`)
	la, lb := layerPaths(t, a), layerPaths(t, b)
	if len(la) != 2 || la["layer-kernel"] == "" || la["layer-kernel"] != lb["layer-kernel"] || la["layer-app.conf"] != lb["layer-app.conf"] {
		t.Fatalf("layers of two images copying the same files: %v and %v, want the same two", la, lb)
	}

	outA, stderr, err := testenv.NixBuild(t, "", a)
	if err != nil {
		t.Fatal(err)
	}
	if got := built(stderr); !slices.Equal(got, []string{"bunix-a-latest.tar", "layer-app.conf", "layer-kernel"}) {
		t.Errorf("first build built %q", got)
	}
	_, stderr, err = testenv.NixBuild(t, "", b)
	if err != nil {
		t.Fatal(err)
	}
	if got := built(stderr); !slices.Equal(got, []string{"bunix-b-other.tar"}) {
		t.Errorf("the second image, with the same files, built %q: want its image derivation alone", got)
	}
	cli := filepath.Join(t.TempDir(), "image.tar")
	bunixCLI(t, "", nil, "build", "-f", argsA, "-o", cli)
	if !bytes.Equal(testenv.ReadFile(t, outA), testenv.ReadFile(t, cli)) {
		t.Errorf("nix-build (%s) and bunix build (%s) differ", outA, cli)
	}

	writeConf(t, dir, "two\n")
	if l := layerPaths(t, a); l["layer-kernel"] != la["layer-kernel"] || l["layer-app.conf"] == la["layer-app.conf"] {
		t.Errorf("after a config change the layers are %v, were %v: want a new config layer, the same kernel layer", l, la)
	}
	outA2, stderr, err := testenv.NixBuild(t, "", a)
	if err != nil {
		t.Fatal(err)
	}
	if got := built(stderr); !slices.Equal(got, []string{"bunix-a-latest.tar", "layer-app.conf"}) {
		t.Errorf("after a config change, built %q: want the config layer and the image", got)
	}
	bunixCLI(t, "", nil, "build", "-f", argsA, "-o", cli)
	if !bytes.Equal(testenv.ReadFile(t, outA2), testenv.ReadFile(t, cli)) {
		t.Errorf("after a config change, nix-build (%s) and bunix build (%s) differ", outA2, cli)
	}

	drv, _, err := testenv.NixInstantiate(t, "", a)
	if err != nil {
		t.Fatal(err)
	}
	refs, _, err := testenv.NixInstantiate(t, "", "--eval", "--strict", "--json", "-E",
		fmt.Sprintf(`map (l: l.drvPath) (import %s).bunixLayers`, a))
	if err != nil {
		t.Fatal(err)
	}
	var drvs []string
	if err := json.Unmarshal([]byte(refs), &drvs); err != nil {
		t.Fatal(err)
	}
	for _, d := range append(drvs, drv) {
		if _, stderr, err := testenv.NixBuild(t, "", d, "--check"); err != nil {
			t.Errorf("nix-build --check %s: %v\n%s", d, err, stderr)
		}
	}
	if !strings.HasSuffix(drv, ".drv") || len(drvs) != 2 {
		t.Errorf("derivations %s and %q", drv, drvs)
	}
}

// uploads counts the blob uploads a push starts (POST .../blobs/uploads/)
// and the blob existence checks (HEAD .../blobs/...).
type uploads struct {
	rt          http.RoundTripper
	mu          sync.Mutex
	post, heads int
}

func (u *uploads) RoundTrip(r *http.Request) (*http.Response, error) {
	u.mu.Lock()
	switch {
	case r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/blobs/uploads/"):
		u.post++
	case r.Method == http.MethodHead && strings.Contains(r.URL.Path, "/blobs/"):
		u.heads++
	}
	u.mu.Unlock()
	return u.rt.RoundTrip(r)
}

// TestLayeredOCI builds format = "oci" with layer derivations: its layer
// blobs are symlinks into the layer outputs, which skopeo, bunix inspect,
// bunix push and a tar of the layout for ctr images import follow; after a config change, the new layout's own files
// are a few KiB, and pushing it to a registry that has the first image
// uploads the changed layer and the config only, having asked for each
// blob first.
func TestLayeredOCI(t *testing.T) {
	skopeo := testenv.Require(t, "skopeo")
	reg := testenv.Registry(t)
	dir := layeredDir(t, 4<<20, "one\n")
	_, expr := layeredExpr(t, dir, "bunix/oci", `format = "oci";`)
	out, stderr, err := testenv.NixBuild(t, "", expr)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	linkedBlobs(t, out, 2)
	dst := filepath.Join(t.TempDir(), "copy.tar")
	if out, err := exec.Command(skopeo, "copy", "oci:"+out, "docker-archive:"+dst+":bunix/oci:latest").CombinedOutput(); err != nil {
		t.Fatalf("skopeo copy: %v\n%s", err, out)
	}
	if r := inspect(t, out); len(r.Layers) != 3 || r.Urunc["binary"] != "/unikernel/kernel" {
		t.Errorf("bunix inspect: %+v", r)
	}
	// A tar of the layout, the links followed (tar -h), imports into
	// containerd with its manifest and annotations.
	tarball := filepath.Join(t.TempDir(), "layout.tar")
	if b, err := exec.Command(testenv.Require(t, "tar"), "-chf", tarball, "-C", out, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, b)
	}
	c := testenv.Containerd(t)
	if _, err := c.Ctr(t, "images", "import", tarball); err != nil {
		t.Fatal(err)
	}
	if _, digest := c.ImageTarget(t, "docker.io/bunix/oci:latest"); !strings.Contains(c.Content(t, digest), `"com.urunc.unikernel.binary":"/unikernel/kernel"`) {
		t.Errorf("containerd's manifest %s lacks the urunc annotations", digest)
	}

	ref := reg.Addr + "/bunix/oci:test"
	first := &uploads{rt: http.DefaultTransport}
	if _, err := registry.Push(context.Background(), out, ref, registry.Insecure(), registry.WithTransport(first)); err != nil {
		t.Fatal(err)
	}
	if first.post != 4 {
		t.Errorf("the first push started %d blob uploads, want 4 (three layers and the config)", first.post)
	}

	writeConf(t, dir, "two\n")
	out2, stderr, err := testenv.NixBuild(t, "", expr)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if own := ownBytes(t, out2); own > 16<<10 {
		t.Errorf("the changed layout holds %d bytes of its own (not in layer outputs), want a few KiB", own)
	}
	second := &uploads{rt: http.DefaultTransport}
	pushed, err := registry.Push(context.Background(), out2, ref, registry.Insecure(), registry.WithTransport(second))
	if err != nil {
		t.Fatal(err)
	}
	if second.post != 2 || second.heads < 4 {
		t.Errorf("the push after a config change started %d blob uploads after %d existence checks, want 2 (the config layer and the config) after one per blob", second.post, second.heads)
	}
	if _, digest, _ := reg.Manifest(t, "bunix/oci", "test"); pushed.DigestStr() != digest {
		t.Errorf("pushed %s, the registry serves %s", pushed, digest)
	}
}

// ownBytes is the size of the regular files under dir, not following
// symlinks.
func ownBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fi, err := d.Info()
		if err == nil {
			n += fi.Size()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestStreamImage: streamImage's result is an executable whose "#!" line
// names the static bunix (no shell) and that writes the docker-archive
// buildImage writes for the same arguments; `./result | docker load` loads
// it.
func TestStreamImage(t *testing.T) {
	dir := layeredDir(t, 1<<20, "one\n")
	_, expr := layeredExpr(t, dir, "bunix/stream", "")
	image, result, stderr := buildAndStream(t, expr)
	if got := built(stderr); !slices.Equal(got, []string{"stream-bunix-stream-latest"}) {
		t.Errorf("streamImage built %q, want the script alone (the layers are built)", got)
	}
	script := testenv.ReadFile(t, result)
	line, _, _ := bytes.Cut(script, []byte("\n"))
	interp, ok := strings.CutSuffix(strings.TrimPrefix(string(line), "#!"), " nix-stream")
	fi, err := os.Stat(result)
	if err != nil || fi.Mode()&0o111 == 0 || !ok || !strings.HasPrefix(interp, "/nix/store/") || !strings.HasSuffix(interp, "/bin/bunix") || len(script) > 64<<10 {
		t.Errorf("the result starts %q (want #!/nix/store/...-bunix/bin/bunix nix-stream), is %d bytes (%v)", line, len(script), err)
	} else if elf := testenv.ReadFile(t, interp); !bytes.HasPrefix(elf, []byte("\x7fELF")) || !bytes.Equal(elf, testenv.ReadFile(t, filepath.Join(testenv.Bunix(t), "bin", "bunix"))) {
		t.Errorf("the #! line names %s, which is not the bunix binary", interp)
	}
	var out bytes.Buffer
	cmd := exec.Command(result)
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v", result, err)
	}
	if !bytes.Equal(out.Bytes(), testenv.ReadFile(t, image)) {
		t.Errorf("%s wrote %d bytes, not the %d of %s", result, out.Len(), len(testenv.ReadFile(t, image)), image)
	}

	d := docker.Get(t)
	load := exec.Command(testenv.Require(t, "docker"), "load")
	load.Env = d.Env()
	piped := exec.Command(result)
	load.Stdin, err = piped.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var loaded bytes.Buffer
	load.Stdout, load.Stderr = &loaded, &loaded
	if err := piped.Start(); err != nil {
		t.Fatal(err)
	}
	if err := load.Run(); err != nil || !strings.Contains(loaded.String(), "Loaded image: bunix/stream:latest") {
		t.Errorf("./result | docker load: %v\n%s", err, loaded.String())
	}
	if err := piped.Wait(); err != nil {
		t.Errorf("%s: %v", result, err)
	}
}

// TestLayerFromBinaryCache: a second store building the same image
// substitutes the kernel's layer from a file:// binary cache, rather than
// building it, and builds the rest: the layer derivation is not built, and
// the image is the same bytes.
func TestLayerFromBinaryCache(t *testing.T) {
	nix := testenv.Require(t, "nix")
	dir := layeredDir(t, 1<<20, "one\n")
	_, expr := layeredExpr(t, dir, "bunix/cache", "")
	out, stderr, err := testenv.NixBuild(t, "", expr)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	kernelLayer := layerPaths(t, expr)["layer-kernel"]
	cache := t.TempDir()
	if b, err := exec.Command(nix, "--extra-experimental-features", "nix-command", "copy", "--to", "file://"+cache, kernelLayer).CombinedOutput(); err != nil {
		t.Fatalf("nix copy: %v\n%s", err, b)
	}
	store := testenv.NixStoreDir(t)
	out2, stderr, err := testenv.NixBuild(t, "", expr, "--store", store,
		"--option", "substituters", "file://"+cache, "--option", "require-sigs", "false")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if got := built(stderr); !slices.Equal(got, []string{"bunix-cache-latest.tar", "layer-app.conf"}) {
		t.Errorf("the second store built %q: want the config layer and the image, the kernel layer substituted\n%s", got, stderr)
	}
	if !strings.Contains(stderr, "will be fetched") || !strings.Contains(stderr, kernelLayer) {
		t.Errorf("the second store did not fetch %s:\n%s", kernelLayer, stderr)
	}
	if out2 != out || !bytes.Equal(testenv.ReadFile(t, filepath.Join(store, out2)), testenv.ReadFile(t, out)) {
		t.Errorf("the second store's image %s differs from %s", out2, out)
	}
}

// TestRootfsLayerDerivation: an image's rootfs layer is a derivation of
// its own too (bunix nix-rootfs-layer), of the rootfs and the annotations
// only: changing the kernel rebuilds the kernel's layer and the image, not
// the rootfs; the bytes are those of bunix build, and nix-build --check
// passes for the rootfs layer.
func TestRootfsLayerDerivation(t *testing.T) {
	dir := layeredDir(t, 64<<10, "one\n")
	os.MkdirAll(filepath.Join(dir, "rootfs", "conf"), 0o755)
	os.WriteFile(filepath.Join(dir, "rootfs", "conf", "app.conf"), []byte(rand.Text()), 0o644)
	args, expr := layeredExpr(t, dir, "bunix/rootfs", `rootfs = { type = "block"; include = { "./rootfs" = "/"; }; mountPoint = "/data"; };
  annotations = { unikernelType = "rumprun"; hypervisor = "hvt"; binary = "/unikernel/kernel"; cmdline = "app /data/conf/app.conf"; };`)
	// layeredExpr's own annotations come first; these replace them.
	src := strings.Replace(string(testenv.ReadFile(t, args)), `annotations = { unikernelType = "unikraft"; hypervisor = "qemu"; binary = "/unikernel/kernel"; cmdline = "app /conf/app.conf"; };`, "", 1)
	if err := os.WriteFile(args, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := testenv.NixBuild(t, "", expr)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if got := built(stderr); !slices.Equal(got, []string{"bunix-rootfs-latest.tar", "layer-app.conf", "layer-kernel", "layer-rootfs"}) {
		t.Errorf("first build built %q", got)
	}
	rootfsLayer := layerPaths(t, expr)["layer-rootfs"]
	if _, err := os.Stat(filepath.Join(rootfsLayer, "layer.json")); err != nil {
		t.Fatalf("the rootfs layer %s holds no layer: %v", rootfsLayer, err)
	}
	cli := filepath.Join(t.TempDir(), "image.tar")
	bunixCLI(t, "", nil, "build", "-f", args, "-o", cli)
	if !bytes.Equal(testenv.ReadFile(t, out), testenv.ReadFile(t, cli)) {
		t.Errorf("nix-build (%s) and bunix build (%s) differ", out, cli)
	}

	kernel := testenv.ReadFile(t, filepath.Join(dir, "kernel"))
	kernel[len(kernel)-1] ^= 1
	os.WriteFile(filepath.Join(dir, "kernel"), kernel, 0o755)
	out2, stderr, err := testenv.NixBuild(t, "", expr)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if got := built(stderr); !slices.Equal(got, []string{"bunix-rootfs-latest.tar", "layer-kernel"}) {
		t.Errorf("after a kernel change, built %q: want the kernel layer and the image", got)
	}
	bunixCLI(t, "", nil, "build", "-f", args, "-o", cli)
	if !bytes.Equal(testenv.ReadFile(t, out2), testenv.ReadFile(t, cli)) {
		t.Errorf("after a kernel change, nix-build (%s) and bunix build (%s) differ", out2, cli)
	}
	drvs, _, err := testenv.NixInstantiate(t, "", "--eval", "--strict", "--json", "-E",
		fmt.Sprintf(`map (l: l.drvPath) (builtins.filter (l: l.name == "layer-rootfs") (import %s).bunixLayers)`, expr))
	if err != nil {
		t.Fatal(err)
	}
	var list []string
	json.Unmarshal([]byte(drvs), &list)
	if len(list) != 1 {
		t.Fatalf("rootfs layer derivations %q", list)
	}
	if _, stderr, err := testenv.NixBuild(t, "", list[0], "--check"); err != nil {
		t.Errorf("nix-build --check %s: %v\n%s", list[0], err, stderr)
	}
}

// TestStreamImageRefusesBadArgs: a description buildImage refuses fails
// the streamImage build itself, with the same message, rather than a
// script that fails when it runs (and feeds docker load nothing).
func TestStreamImageRefusesBadArgs(t *testing.T) {
	dir := layeredDir(t, 1<<10, "one\n")
	root := testenv.ModuleRoot(t)
	expr := filepath.Join(t.TempDir(), "stream.nix")
	src := fmt.Sprintf(`(import %s/nix/lib.nix).streamImage {
  name = "bunix/bad"; root = %s; bunix = %s;
  files = { "./kernel" = "/unikernel/kernel"; };
  annotations = { unikernelType = "unikraft"; hypervisor = "qemu"; binary = "/not/there"; cmdline = "k"; };
}`, root, dir, testenv.Bunix(t))
	if err := os.WriteFile(expr, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	want := `annotations.binary = "/not/there": no file in the image is at this path`
	if out, stderr, err := testenv.NixBuild(t, "", expr); err == nil || !strings.Contains(stderr, want) {
		t.Errorf("streamImage of a bad description: %v, result %q\n%s\nwant the build to fail with %q", err, out, stderr, want)
	}
}
