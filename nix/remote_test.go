package nix_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
)

// TestRemoteBuilderAndBinaryCache scales out the way docs/nix.md's
// "Building at scale" says: a machine that builds nothing itself
// (--max-jobs 0) has an image built on a remote builder over SSH
// (ssh-ng://, an sshd on loopback whose key runs nix-daemon --stdio on a
// store of its own); the layers and the image go to a signed file://
// binary cache; a third store then gets them all from that cache, building
// nothing. Every store holds the same image bytes, which are those of a
// build here. The image's stream (streamImage) is built alongside: its
// closure is the layers, so that the cache and the third store hold them.
func TestRemoteBuilderAndBinaryCache(t *testing.T) {
	nixCmd := testenv.Require(t, "nix")
	nixStore := testenv.Require(t, "nix-store")
	daemon := testenv.Require(t, "nix-daemon")
	dir := layeredDir(t, 256<<10, "remote\n")
	_, expr := layeredExpr(t, dir, "bunix/remote", "")
	// The image, and its stream (streamImage), whose closure is the
	// layers: a store or cache holding the stream holds them.
	streamExpr := filepath.Join(t.TempDir(), "stream.nix")
	if err := os.WriteFile(streamExpr, bytes.Replace(testenv.ReadFile(t, expr), []byte(").buildImage"), []byte(").streamImage"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	layers := layerPaths(t, expr)
	outPath := func(file string) string {
		p, _, err := testenv.NixInstantiate(t, "", "--eval", "--expr", fmt.Sprintf("(import %s).outPath", file))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Trim(p, `"`)
	}
	image, stream := outPath(expr), outPath(streamExpr)
	want := image + "\n" + stream

	// The builder: a store of its own, reached as root through the test's
	// sshd, whose key may only run the Nix daemon on it.
	builderStore := testenv.NixStoreDir(t)
	sshd := testenv.SSHD(t, fmt.Sprintf("%s --stdio --option store %s --option sandbox true", daemon, builderStore))
	t.Setenv("NIX_SSHOPTS", sshd.SSHOptions())
	system, _, err := testenv.NixInstantiate(t, "", "--eval", "--expr", "builtins.currentSystem")
	if err != nil {
		t.Fatal(err)
	}
	builders := fmt.Sprintf("ssh-ng://root@127.0.0.1 %s %s 1 1 - - %s", strings.Trim(system, `"`), sshd.Key, sshd.HostKey)

	local := testenv.NixStoreDir(t)
	out, stderr, err := testenv.NixBuild(t, "", expr, streamExpr, "--store", local, "--max-jobs", "0", "--builders", builders)
	if err != nil {
		t.Fatalf("building on the remote builder: %v\n%s", err, stderr)
	}
	if out != want {
		t.Errorf("the remote build gave %q, want %q", out, want)
	}
	for name, p := range layers {
		if _, err := os.Stat(filepath.Join(builderStore, p)); err != nil {
			t.Errorf("the builder's store lacks the layer %s (%s): it was not built there: %v\n%s", name, p, err, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(builderStore, image)); err != nil {
		t.Errorf("the builder's store lacks the image %s: %v\n%s", image, err, stderr)
	}
	if !strings.Contains(stderr, "ssh-ng://root@127.0.0.1") {
		t.Errorf("nix-build does not say it built on the remote builder:\n%s", stderr)
	}

	// A signed binary cache of the image and the stream (with its
	// closure, the layers), from the store that asked for the build.
	keys := t.TempDir()
	secret, public := filepath.Join(keys, "secret"), filepath.Join(keys, "public")
	if b, err := exec.Command(nixStore, "--generate-binary-cache-key", "bunix-test-1", secret, public).CombinedOutput(); err != nil {
		t.Fatalf("nix-store --generate-binary-cache-key: %v\n%s", err, b)
	}
	cache := t.TempDir()
	copyArgs := []string{"--extra-experimental-features", "nix-command", "copy", "--from", local, "--to", "file://" + cache + "?secret-key=" + secret, image, stream}
	if b, err := exec.Command(nixCmd, copyArgs...).CombinedOutput(); err != nil {
		t.Fatalf("nix copy to the binary cache: %v\n%s", err, b)
	}

	// A third store substitutes everything, trusting only the cache's
	// key, and builds nothing: with --max-jobs 0 and no builders, a build
	// would fail.
	second := testenv.NixStoreDir(t)
	out2, stderr2, err := testenv.NixBuild(t, "", expr, streamExpr, "--store", second, "--max-jobs", "0", "--builders", "",
		"--option", "substituters", "file://"+cache, "--option", "trusted-public-keys", strings.TrimSpace(string(testenv.ReadFile(t, public))))
	if err != nil {
		t.Fatalf("substituting from the binary cache: %v\n%s", err, stderr2)
	}
	if out2 != want {
		t.Errorf("the second store gave %q, want %q", out2, want)
	}
	if got := built(stderr2); len(got) != 0 {
		t.Errorf("the second store built %q, want nothing built\n%s", got, stderr2)
	}
	if !strings.Contains(stderr2, "will be fetched") {
		t.Errorf("the second store fetched nothing:\n%s", stderr2)
	}
	for name, p := range layers {
		if _, err := os.Stat(filepath.Join(second, p)); err != nil {
			t.Errorf("the second store lacks the layer %s (%s): %v", name, p, err)
		}
	}

	here, stderr3, err := testenv.NixBuild(t, "", expr)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr3)
	}
	bytesHere := testenv.ReadFile(t, here)
	for _, store := range []string{local, builderStore, second} {
		if !bytes.Equal(testenv.ReadFile(t, filepath.Join(store, image)), bytesHere) {
			t.Errorf("the image in %s differs from the one built here (%s)", store, here)
		}
	}
}
