package registry

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/compression"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/image"
)

// short is the timeout the stall tests give bunix. Every request of a
// test but the one that stalls goes to a loopback server in this process
// and must be answered within it, on a CI machine whose two cores other
// packages' tests keep busy: 300 ms was seen too little there (a request
// answered late is a stall of the wrong request), 2 s is not.
const short = 2 * time.Second

// patience bounds each stall test: without the watchdog the request would
// hang until this context ends, and fail with its error, not a stall. It
// is far above what the stalls add up to (TestRegistryNeverAnswers waits
// out about nine of them).
func patience(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// stallingRegistry is a real registry on loopback that, once release is
// closed never, sends only the first half of the blob whose path ends in
// blob and then sends nothing more.
func stallingRegistry(t *testing.T, blob string) string {
	inner := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	hold := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, blob) {
			inner.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		inner.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		select {
		case <-hold:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(hold); s.Close() })
	return strings.TrimPrefix(s.URL, "http://")
}

// wantStall checks that err is a *StallError naming host and what.
func wantStall(t *testing.T, err error, host, what string) {
	t.Helper()
	var se *StallError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want a stall of %s", err, host)
	}
	if se.Registry != host || !strings.Contains(err.Error(), what) || !strings.Contains(err.Error(), "sent nothing for 2s") || !strings.Contains(err.Error(), TimeoutEnv) {
		t.Errorf("err = %v, want it to name %s, %q, the timeout and %s", err, host, what, TimeoutEnv)
	}
	if IsRefused(err) {
		t.Errorf("a stall counts as refused (the user's fault): %v", err)
	}
}

// TestStallMidBlob: a registry that stops sending in the middle of a
// layer fails Pull (nix-pull's and build's), Prefetch and reading a layer
// that Get returns (inspect), each with a *StallError naming the registry
// and the blob, and Pull leaves no directory.
func TestStallMidBlob(t *testing.T) {
	idx, img := testenv.BaseImage(t, compression.GZip, "")
	m, _ := img.Manifest()
	layer := m.Layers[0].Digest
	host := stallingRegistry(t, "/blobs/"+layer.String())
	ref := host + "/unikraft/nginx:1.15"
	digest := pushed(t, ref, idx)
	what := "reading GET the blob " + layer.String() + " of unikraft/nginx"

	dir := filepath.Join(t.TempDir(), "image")
	err := Pull(patience(t), ref, digest.String(), image.Want{Architecture: "amd64"}, dir, WithTimeout(short))
	wantStall(t, err, host, what)
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("Pull left %s", dir)
	}

	_, err = Prefetch(patience(t), ref, image.Want{Architecture: "amd64"}, t.TempDir(), WithTimeout(short))
	wantStall(t, err, host, what)

	imgs, err := Get(patience(t), ref, WithTimeout(short))
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range imgs {
		l, err := img.LayerByDigest(layer)
		if err != nil {
			continue
		}
		rc, err := l.Compressed()
		if err == nil {
			_, err = io.Copy(io.Discard, rc)
			rc.Close()
		}
		wantStall(t, err, host, what)
	}
}

// TestSlowReaderIsNoStall: the clock runs only while bunix waits for the
// registry; a reader that pauses between reads longer than the timeout
// still gets the whole blob.
func TestSlowReaderIsNoStall(t *testing.T) {
	ref := testRegistry(t) + "/urunc/slow:1"
	img := testImage(t, "amd64")
	pushed(t, ref, img)
	imgs, err := Get(patience(t), ref, WithTimeout(short))
	if err != nil {
		t.Fatal(err)
	}
	ls, _ := imgs[0].Layers()
	rc, err := ls[0].Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b := make([]byte, 100)
	if _, err := io.ReadFull(rc, b); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * short)
	if _, err := io.Copy(io.Discard, rc); err != nil {
		t.Errorf("reading on after a pause: %v", err)
	}
}

// silentServer accepts connections on loopback, reads what it is sent,
// and never answers.
func silentServer(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			go io.Copy(io.Discard, c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// TestRegistryNeverAnswers: a registry that accepts the connection and
// never answers fails Get (inspect), Resolve and Prefetch (prefetch,
// build) and Pull (nix-pull) with a *StallError naming it and the request
// it did not answer.
func TestRegistryNeverAnswers(t *testing.T) {
	host := silentServer(t)
	ref := host + "/urunc/redis:1"
	digest := "sha256:" + strings.Repeat("a", 64)
	what := "waiting for an answer to GET /v2/"
	_, err := Get(patience(t), ref, Insecure(), WithTimeout(short))
	wantStall(t, err, host, what)
	_, err = Resolve(patience(t), ref, Insecure(), WithTimeout(short))
	wantStall(t, err, host, what)
	_, err = Prefetch(patience(t), ref, image.Want{Architecture: "amd64"}, t.TempDir(), Insecure(), WithTimeout(short))
	wantStall(t, err, host, what)
	err = Pull(patience(t), ref, digest, image.Want{Architecture: "amd64"}, filepath.Join(t.TempDir(), "image"), Insecure(), WithTimeout(short))
	wantStall(t, err, host, what)
}

// TestStallMidUpload: a registry that stops taking a blob upload (it
// reads nothing more of it) fails the push with a *StallError naming the
// upload, though no answer was due yet.
func TestStallMidUpload(t *testing.T) {
	inner := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	hold := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodPatch || r.Method == http.MethodPut) && strings.Contains(r.URL.Path, "/blobs/uploads/") && r.ContentLength != 0 {
			io.CopyN(io.Discard, r.Body, 64<<10)
			select {
			case <-hold:
			case <-r.Context().Done():
			}
			return
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { close(hold); s.Close() })
	host := strings.TrimPrefix(s.URL, "http://")

	dir := randomLayout(t, 32<<20)
	_, err := Push(patience(t), dir, host+"/urunc/big:1", Insecure(), WithTimeout(short))
	wantStall(t, err, host, "an upload to urunc/big")
}

// TestUploadIsNoStall: an upload that takes longer than the timeout
// while the registry keeps taking it is not a stall: every piece taken
// restarts the clock. The sockets' buffers are small, so that what the
// registry takes is what bunix sends.
func TestUploadIsNoStall(t *testing.T) {
	inner := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPatch || r.Method == http.MethodPut {
			// Take the upload slowly: 64 KiB every 100 ms, a twentieth of
			// the timeout between pieces, and 3 s or more for the 2 MiB,
			// longer than the timeout.
			var buf bytes.Buffer
			for {
				n, err := io.CopyN(&buf, r.Body, 64<<10)
				if n == 0 || err != nil {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			r.Body = io.NopCloser(&buf)
		}
		inner.ServeHTTP(w, r)
	}))
	s.Config.ConnState = func(c net.Conn, st http.ConnState) {
		if st == http.StateNew {
			c.(*net.TCPConn).SetReadBuffer(32 << 10)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	host := strings.TrimPrefix(s.URL, "http://")
	dialer := &net.Dialer{}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if err == nil {
			c.(*net.TCPConn).SetWriteBuffer(32 << 10)
		}
		return c, err
	}}
	t.Cleanup(tr.CloseIdleConnections)
	dir := randomLayout(t, 2<<20)
	start := time.Now()
	if _, err := Push(patience(t), dir, host+"/urunc/slow:1", Insecure(), WithTimeout(short), WithTransport(tr)); err != nil {
		t.Errorf("a slow upload the registry keeps taking: %v", err)
	}
	// A lower bound the server's pauses guarantee, not a measure: the
	// upload must have outlasted the timeout for the test to mean anything.
	if took := time.Since(start); took <= short {
		t.Errorf("the upload took %v, no longer than the timeout %v: the test shows nothing", took, short)
	}
}

// TestRedirectLoop: a registry that answers requests with a redirect to
// themselves (all of them, or all but the API check, which
// go-containerregistry's own clients then follow for ever) fails Get,
// Resolve and Pull with ErrRedirectLoop naming it, after a bounded number
// of requests.
func TestRedirectLoop(t *testing.T) {
	for _, apiCheck := range []bool{false, true} {
		var served atomic.Int64
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			served.Add(1)
			if apiCheck && r.URL.Path == "/v2/" {
				return
			}
			http.Redirect(w, r, r.URL.String(), http.StatusFound)
		}))
		t.Cleanup(s.Close)
		host := strings.TrimPrefix(s.URL, "http://")
		ref := host + "/urunc/loop:1"
		check := func(what string, err error) {
			t.Helper()
			if !errors.Is(err, ErrRedirectLoop) || !strings.Contains(err.Error(), "registry "+host+" redirects in a loop") {
				t.Errorf("API check answered %v: %s = %v, want %q", apiCheck, what, err, "registry "+host+" redirects in a loop")
			}
			if IsRefused(err) {
				t.Errorf("%s: a redirect loop counts as refused (the user's fault)", what)
			}
		}
		_, err := Get(patience(t), ref)
		check("Get", err)
		_, err = Resolve(patience(t), ref)
		check("Resolve", err)
		err = Pull(patience(t), ref, "sha256:"+strings.Repeat("a", 64), image.Want{Architecture: "amd64"}, filepath.Join(t.TempDir(), "image"))
		check("Pull", err)
		// Each call may try both schemes and retry, but never more than a
		// few dozen requests.
		if n := served.Load(); n > 3*4*MaxRedirects {
			t.Errorf("API check answered %v: the registry was asked %d times", apiCheck, n)
		}
	}
}

// FuzzDescribe: what a message says of a request, whose URL a registry's
// redirect may have chosen, never panics and stays short.
func FuzzDescribe(f *testing.F) {
	for _, p := range []string{"/v2/", "/v2/urunc/redis/manifests/1", "/v2/a/blobs/sha256:abc", "/v2/a/blobs/uploads/x", "/token", "/v2//manifests/", "/v2/" + strings.Repeat("a/", 500) + "blobs/x"} {
		f.Add("GET", p, "registry.example")
	}
	f.Fuzz(func(t *testing.T, method, path, host string) {
		req := &http.Request{Method: method, URL: &url.URL{Scheme: "https", Host: host, Path: path}}
		if s := describe(req); len(s) > len(method)+2*(120+len(msgMarker))+40 {
			t.Errorf("describe = %d bytes", len(s))
		}
	})
}

// msgMarker is the longest marker msg.Cut adds.
const msgMarker = "... (9223372036854775807 bytes)"

// randomLayout writes an OCI layout holding one image whose one layer is
// size random bytes, uncompressed, and returns its directory.
func randomLayout(t *testing.T, size int) string {
	t.Helper()
	big := make([]byte, size)
	rand.Read(big)
	img, err := mutate.AppendLayers(empty.Image, static.NewLayer(big, types.OCIUncompressedLayer))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p, _ := layout.Write(dir, empty.Index)
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	return dir
}
