package testenv

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/compression"
)

// TestSecureRegistry: a Secure registry serves HTTPS only, with the
// certificate at CAFile; it answers 401 with a Basic challenge to a client
// without credentials and to wrong ones; PushIndex and Manifest, which send
// the right ones, work; a client that does not trust CAFile fails the TLS
// handshake, and plain HTTP gets no registry answer.
func TestSecureRegistry(t *testing.T) {
	r := Registry(t, Secure("bunix", "s3cret"))
	if r.Scheme() != "https" || r.CAFile == "" {
		t.Fatalf("Scheme %q, CAFile %q", r.Scheme(), r.CAFile)
	}
	idx, _ := BaseImage(t, compression.GZip, "")
	ref := r.PushIndex(t, "unikraft/nginx:1.15", idx)
	want, _ := idx.Digest()
	if _, digest, _ := r.Manifest(t, "unikraft/nginx", "1.15"); digest != want.String() {
		t.Errorf("Manifest of %s = %s, want %s", ref, digest, want)
	}

	client := &http.Client{Transport: r.Transport(), Timeout: registryRequestTimeout}
	for _, user := range []string{"", "bunix:wrong"} {
		req, _ := http.NewRequest(http.MethodGet, "https://"+r.Addr+"/v2/", nil)
		if u, p, ok := strings.Cut(user, ":"); ok {
			req.SetBasicAuth(u, p)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
			t.Errorf("credentials %q: %s, WWW-Authenticate %q; want 401 and a Basic challenge", user, resp.Status, resp.Header.Get("WWW-Authenticate"))
		}
	}
	untrusting := &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: registryRequestTimeout}
	if _, err := untrusting.Get("https://" + r.Addr + "/v2/"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("a client that does not trust CAFile: %v, want a certificate error", err)
	}
	if resp, err := untrusting.Get("http://" + r.Addr + "/v2/"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
			t.Errorf("plain HTTP got %s from the registry", resp.Status)
		}
	}
}
