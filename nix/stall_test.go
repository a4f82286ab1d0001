package nix_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/nubificus/bunix/internal/testenv"
)

// TestPullImageStall: lib.pullImage on a loopback registry that stops
// sending half-way through a layer fails in the sandbox, within the
// BUNIX_REGISTRY_TIMEOUT that nix-build passes its builder, with the
// message naming the registry and the blob; it no longer hangs.
func TestPullImageStall(t *testing.T) {
	inner := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	var layer atomic.Value
	layer.Store("none")
	hold := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, layer.Load().(string)) {
			inner.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		inner.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes()[:rec.Body.Len()/2])
		w.(http.Flusher).Flush()
		select {
		case <-hold:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(hold); s.Close() })
	host := strings.TrimPrefix(s.URL, "http://")
	// A new image each run: the fixed-output derivation really pulls.
	idx, img := testenv.BaseImage(t, compression.GZip, strconv.FormatInt(time.Now().UnixNano(), 10))
	ref := host + "/unikraft/stall:1"
	tag, _ := name.NewTag(ref)
	if err := remote.WriteIndex(tag, idx); err != nil {
		t.Fatal(err)
	}
	m, _ := img.Manifest()
	layer.Store("/blobs/" + m.Layers[0].Digest.String())
	digest, _ := idx.Digest()

	t.Setenv("BUNIX_REGISTRY_TIMEOUT", "1s")
	root := testenv.ModuleRoot(t)
	expr := fmt.Sprintf(`(import %s/nix/lib.nix).pullImage { ref = %q; digest = %q; hash = %q; bunix = %s; }`,
		root, ref, digest.String(), "sha256-"+strings.Repeat("A", 43)+"=", testenv.Bunix(t))
	_, stderr, err := testenv.NixBuild(t, root, "--expr", expr)
	want := "registry " + host + " sent nothing for 1s while reading GET the blob " + m.Layers[0].Digest.String()
	if err == nil || !strings.Contains(stderr, want) {
		t.Errorf("nix-build of pullImage on a stalling registry: %v\n%s\nwant %q", err, stderr, want)
	}
}

// TestPullImageRedirectLoop: lib.pullImage on a loopback registry that
// answers the manifest with a redirect to itself fails in the sandbox,
// "redirects in a loop", where it used to follow it for ever.
func TestPullImageRedirectLoop(t *testing.T) {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		http.Redirect(w, r, r.URL.String(), http.StatusFound)
	}))
	t.Cleanup(s.Close)
	host := strings.TrimPrefix(s.URL, "http://")
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
