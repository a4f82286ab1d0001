package testenv

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// StallingRegistry starts a loopback registry holding BaseImage(salt) at
// host/repo:1 that, once the image is pushed, sends half of its first
// layer to a GET and then nothing, until the request or t ends. It
// returns the registry's host, the image index's digest and the layer's.
func StallingRegistry(t testing.TB, repo, salt string) (host, digest, layer string) {
	t.Helper()
	inner := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	var stallOn atomic.Value
	stallOn.Store("")
	hold := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		blob := stallOn.Load().(string)
		if blob == "" || r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/blobs/"+blob) {
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
	host = strings.TrimPrefix(s.URL, "http://")
	idx, img := BaseImage(t, compression.GZip, salt)
	tag, err := name.NewTag(host + "/" + repo + ":1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(tag, idx); err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	layer = m.Layers[0].Digest.String()
	stallOn.Store(layer)
	return host, d.String(), layer
}

// RedirectLoopRegistry starts a loopback server that answers the registry
// API check and then every request with a redirect to itself, and returns
// its host.
func RedirectLoopRegistry(t testing.TB) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		http.Redirect(w, r, r.URL.String(), http.StatusFound)
	}))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}
