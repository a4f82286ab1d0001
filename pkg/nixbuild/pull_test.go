package nixbuild

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPull: nix-pull hands $BUNIX_REGISTRY_USERNAME and
// $BUNIX_REGISTRY_PASSWORD to the registry; what the registry refuses is a
// *UsageError, a registry that cannot be reached is not; either way $out
// is left absent.
func TestPull(t *testing.T) {
	var creds []string
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); ok {
			creds = append(creds, u+":"+p)
			http.Error(w, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"no such manifest"}]}`, http.StatusNotFound)
			return
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="registry"`)
		http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
	}))
	host := strings.TrimPrefix(s.URL, "http://")
	out := filepath.Join(t.TempDir(), "image")
	env := map[string]string{
		"ref": host + "/urunc/x:1", "digest": "sha256:" + strings.Repeat("0", 64), "architecture": "amd64", "out": out,
		"BUNIX_REGISTRY_USERNAME": "alice", "BUNIX_REGISTRY_PASSWORD": "s3cret",
	}
	err := run(t, env, "nix-pull")
	if err == nil || !strings.Contains(err.Error(), "MANIFEST_UNKNOWN") || !IsUsageError(err) {
		t.Errorf("a refused pull: %v; want a usage error", err)
	}
	if len(creds) == 0 || creds[0] != "alice:s3cret" {
		t.Errorf("the registry got credentials %q", creds)
	}
	s.Close()
	if err := run(t, env, "nix-pull"); err == nil || IsUsageError(err) {
		t.Errorf("a registry that is down: %v; want a failure that is no usage error", err)
	}
	if _, err := os.Lstat(out); !os.IsNotExist(err) {
		t.Errorf("$out: %v", err)
	}
}
