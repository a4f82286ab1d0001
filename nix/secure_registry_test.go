package nix_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/image"
)

// runBunix runs the test's bunix binary in dir with env added to the
// environment and returns its exit code, stdout and stderr.
func runBunix(t *testing.T, dir string, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(testenv.Bunix(t), "bin", "bunix"), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("running bunix %s: %v", strings.Join(args, " "), err)
	}
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

// dockerConfig writes a docker config directory (what DOCKER_CONFIG names)
// whose config.json logs in to registry as user with password.
func dockerConfig(t *testing.T, registry, user, password string) string {
	t.Helper()
	dir := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	config := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, registry, auth)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestSecureRegistry runs the base-image and push paths against a registry
// as the public ones are: HTTPS only, with a certificate the client must
// be told to trust, and basic authentication (docker-registry's htpasswd).
//
//   - bunix prefetch pins the base with SSL_CERT_FILE and the docker
//     config's credentials; without credentials it exits 2 naming the
//     refusal, and without the certificate 1, naming it.
//   - lib.pullImage, given the certificate as cacert and the credentials as
//     BUNIX_REGISTRY_USERNAME and _PASSWORD, pulls it in the sandbox to the
//     NAR hash prefetch printed; a wrong password fails the build, naming
//     the refusal.
//   - default.nix builds an args.nix whose from is what prefetch printed:
//     without --arg cacert the pull fails on the certificate (the sandbox's
//     bunix trusts only Mozilla's roots); with it, the image is byte for
//     byte buildImage's on lib.pullImage's result. bunix push sends it to
//     the registry and bunix inspect reads it back from there.
func TestSecureRegistry(t *testing.T) {
	reg := testenv.Registry(t, testenv.Secure("bunix", "s3cret"))
	// A new image each run: the fixed-output derivation really pulls.
	idx, _ := testenv.BaseImage(t, compression.GZip, strconv.FormatInt(time.Now().UnixNano(), 10))
	ref := reg.PushIndex(t, "unikraft/nginx:1.15", idx)
	dir := t.TempDir()
	login := []string{"SSL_CERT_FILE=" + reg.CAFile, "DOCKER_CONFIG=" + dockerConfig(t, reg.Addr, "bunix", "s3cret")}

	code, pre, stderr := runBunix(t, dir, login, "prefetch", ref)
	m := prefetchOut.FindStringSubmatch(pre)
	if code != 0 || m == nil {
		t.Fatalf("prefetch with the certificate and credentials: exit %d\n%s%s", code, pre, stderr)
	}
	if want, _ := idx.Digest(); m[2] != want.String() {
		t.Errorf("prefetch pinned %s, the index is %s", m[2], want)
	}
	anonymous := []string{"SSL_CERT_FILE=" + reg.CAFile, "DOCKER_CONFIG=" + t.TempDir()}
	if code, _, stderr := runBunix(t, dir, anonymous, "prefetch", ref); code != 2 || !strings.Contains(stderr, "401 Unauthorized") {
		t.Errorf("prefetch without credentials: exit %d, want 2 and 401 Unauthorized\n%s", code, stderr)
	}
	untrusting := []string{"SSL_CERT_FILE=" + filepath.Join(dir, "no-such-bundle.pem"), "SSL_CERT_DIR=" + dir, login[1]}
	if code, _, stderr := runBunix(t, dir, untrusting, "prefetch", ref); code != 1 || !strings.Contains(stderr, "certificate") {
		t.Errorf("prefetch without the certificate: exit %d, want 1 and a certificate error\n%s", code, stderr)
	}

	// An args.nix on the base, as bunix prefetch pins it, for default.nix.
	os.WriteFile(filepath.Join(dir, "extra.conf"), []byte("extra\n"), 0o644)
	argsNix := filepath.Join(dir, "args.nix")
	os.WriteFile(argsNix, []byte(fmt.Sprintf(`{ name = "urunc/nginx"; tag = "secure"; from = %s; files = { "./extra.conf" = "/etc/extra.conf"; }; }`, strings.TrimSpace(pre))), 0o644)
	root := testenv.ModuleRoot(t)
	defaultNix := []string{filepath.Join(root, "default.nix"), "--arg", "bunix", testenv.Bunix(t), "--arg", "args", argsNix}
	t.Setenv("BUNIX_REGISTRY_USERNAME", "bunix")
	t.Setenv("BUNIX_REGISTRY_PASSWORD", "s3cret")
	// First, before any pull can have put the base in the store: without
	// cacert the sandbox's bunix trusts only Mozilla's roots.
	if _, stderr, err := testenv.NixBuild(t, root, defaultNix...); err == nil || !strings.Contains(stderr, "certificate signed by unknown authority") {
		t.Errorf("default.nix without cacert: %v, want a failed pull naming the certificate\n%s", err, stderr)
	}

	// cacert is a CA bundle package: etc/ssl/certs/ca-bundle.crt in it.
	cacert := filepath.Join(t.TempDir(), "cacert")
	os.MkdirAll(filepath.Join(cacert, "etc", "ssl", "certs"), 0o755)
	os.WriteFile(filepath.Join(cacert, "etc", "ssl", "certs", "ca-bundle.crt"), testenv.ReadFile(t, reg.CAFile), 0o644)
	pull := fmt.Sprintf(`(import %s/nix/lib.nix).pullImage { ref = %q; digest = %q; hash = %q; cacert = %s; bunix = %s; }`, root, ref, m[2], m[3], cacert, testenv.Bunix(t))
	t.Setenv("BUNIX_REGISTRY_PASSWORD", "wrong")
	if _, stderr, err := testenv.NixBuild(t, root, "--expr", pull); err == nil || !strings.Contains(stderr, "UNAUTHORIZED") {
		t.Errorf("pullImage with a wrong password: %v, want a failed build naming UNAUTHORIZED\n%s", err, stderr)
	}
	t.Setenv("BUNIX_REGISTRY_PASSWORD", "s3cret")
	base, stderr, err := testenv.NixBuild(t, root, "--expr", pull)
	if err != nil {
		t.Fatalf("pullImage: %v\n%s", err, stderr)
	}
	f, err := image.Open(base)
	if err != nil {
		t.Fatalf("opening the pulled base %s: %v", base, err)
	}
	f.Close()

	build := fmt.Sprintf(`(import %s/nix/lib.nix).buildImage { name = "urunc/nginx"; tag = "secure"; root = %s; from = %s; files = { "./extra.conf" = "/etc/extra.conf"; }; bunix = %s; }`, root, dir, pull, testenv.Bunix(t))
	onPulled, stderr, err := testenv.NixBuild(t, root, "--expr", build)
	if err != nil {
		t.Fatalf("buildImage on the pulled base: %v\n%s", err, stderr)
	}
	out, stderr, err := testenv.NixBuild(t, root, append(defaultNix, "--arg", "cacert", cacert)...)
	if err != nil {
		t.Fatalf("default.nix --arg cacert: %v\n%s", err, stderr)
	}
	if !bytes.Equal(testenv.ReadFile(t, out), testenv.ReadFile(t, onPulled)) {
		t.Errorf("default.nix with from = { ref; digest; hash; } (%s) and buildImage on lib.pullImage (%s) differ", out, onPulled)
	}
	target := reg.Addr + "/urunc/nginx:secure"
	code, pushed, stderr := runBunix(t, dir, login, "push", out, target)
	if code != 0 || !strings.HasPrefix(pushed, reg.Addr+"/urunc/nginx@sha256:") {
		t.Fatalf("push: exit %d %q\n%s", code, pushed, stderr)
	}
	code, report, stderr := runBunix(t, dir, login, "inspect", "docker://"+target)
	if code != 0 || !strings.Contains(report, "/etc/extra.conf") || !strings.Contains(report, "/unikraft/bin/kernel") {
		t.Errorf("inspect docker://%s: exit %d\n%s%s", target, code, report, stderr)
	}
}
