package registry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestWithCredentials: a registry that asks for basic auth gets the given
// username and password, whatever its host.
func TestWithCredentials(t *testing.T) {
	got := make(chan [2]string, 4)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); ok {
			got <- [2]string{u, p}
			http.Error(w, `{"errors":[{"code":"NAME_UNKNOWN","message":"no such repository"}]}`, http.StatusNotFound)
			return
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="registry"`)
		http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
	}))
	defer s.Close()
	ref := strings.TrimPrefix(s.URL, "http://") + "/urunc/x:1"
	if _, err := Resolve(context.Background(), ref, Insecure(), WithCredentials("alice", "s3cret")); err == nil {
		t.Fatal("resolving an image the registry lacks succeeded")
	}
	select {
	case c := <-got:
		if c != [2]string{"alice", "s3cret"} {
			t.Errorf("the registry got %q", c)
		}
	default:
		t.Error("the registry never got credentials")
	}
}
