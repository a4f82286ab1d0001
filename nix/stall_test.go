package nix_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nubificus/bunix/internal/testenv"
)

// TestPullImageStall: lib.pullImage on a loopback registry that stops
// sending half-way through a layer fails in the sandbox, within the
// BUNIX_REGISTRY_TIMEOUT that nix-build passes its builder, with the
// message naming the registry and the blob; it no longer hangs.
func TestPullImageStall(t *testing.T) {
	// A new image each run: the fixed-output derivation really pulls.
	host, digest, layer := testenv.StallingRegistry(t, "unikraft/stall", strconv.FormatInt(time.Now().UnixNano(), 10))
	ref := host + "/unikraft/stall:1"

	// Every request before the stalled blob must be answered within it,
	// by a server in this process while the package's other builds load
	// the machine: 3 s, not 1 s, so that a late answer is never taken for
	// the stall.
	t.Setenv("BUNIX_REGISTRY_TIMEOUT", "3s")
	root := testenv.ModuleRoot(t)
	expr := fmt.Sprintf(`(import %s/nix/lib.nix).pullImage { ref = %q; digest = %q; hash = %q; bunix = %s; }`,
		root, ref, digest, "sha256-"+strings.Repeat("A", 43)+"=", testenv.Bunix(t))
	_, stderr, err := testenv.NixBuild(t, root, "--expr", expr)
	want := "registry " + host + " sent nothing for 3s while reading GET the blob " + layer
	if err == nil || !strings.Contains(stderr, want) {
		t.Errorf("nix-build of pullImage on a stalling registry: %v\n%s\nwant %q", err, stderr, want)
	}
}

// TestPullImageRedirectLoop: lib.pullImage on a loopback registry that
// answers the manifest with a redirect to itself fails in the sandbox,
// "redirects in a loop", where it used to follow it for ever.
func TestPullImageRedirectLoop(t *testing.T) {
	host := testenv.RedirectLoopRegistry(t)
	root := testenv.ModuleRoot(t)
	// A new digest each run: the fixed-output derivation really pulls.
	digest := fmt.Sprintf("sha256:%064x", time.Now().UnixNano())
	expr := fmt.Sprintf(`(import %s/nix/lib.nix).pullImage { ref = %q; digest = %q; hash = %q; bunix = %s; }`,
		root, host+"/unikraft/loop:1", digest, "sha256-"+strings.Repeat("A", 43)+"=", testenv.Bunix(t))
	_, stderr, err := testenv.NixBuild(t, root, "--expr", expr)
	if want := "registry " + host + " redirects in a loop"; err == nil || !strings.Contains(stderr, want) {
		t.Errorf("nix-build of pullImage on a redirect loop: %v\n%s\nwant %q", err, stderr, want)
	}
}
