package registry

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nubificus/bunix/pkg/image"
)

// refuseAll is a transport that fails every request: a reference refused
// as bad input must not reach a registry.
type refuseAll struct{ t *testing.T }

func (r refuseAll) RoundTrip(req *http.Request) (*http.Response, error) {
	r.t.Errorf("asked %s", req.URL)
	return nil, errors.New("no registry here")
}

// TestBadReferences: references ggcr parses but no registry should be
// asked for (a port out of range, an empty or ".." repository component,
// which an HTTP client cleans into another repository) and a digest of the
// wrong length are bad input naming the part at fault, before any
// request, for push, inspect's fetch, prefetch and verify alike.
func TestBadReferences(t *testing.T) {
	digest64 := "sha256:" + strings.Repeat("a", 64)
	ctx := context.Background()
	opts := []Option{WithTransport(refuseAll{t}), Insecure()}
	for _, tc := range []struct{ ref, want string }{
		{"127.0.0.1:99999/x:t", `registry port "99999" must be a number from 1 to 65535`},
		{"127.0.0.1:0/x:t", `registry port "0" must be a number from 1 to 65535`},
		{"127.0.0.1:5000/x/../y:t", `path component ".." must be`},
		{"127.0.0.1:5000//x:t", `path component "" must be`},
		{"127.0.0.1:5000/x/./y:t", `path component "." must be`},
		{"127.0.0.1:5000/x@sha256:abc", `digest "sha256:abc" must be sha256: and 64 lowercase hex digits (it has 3 characters after sha256:)`},
		{"127.0.0.1:5000/x@" + digest64 + "a", `(it has 65 characters after sha256:)`},
		{"127.0.0.1:5000/x@md5:abc", `digest "md5:abc" must be sha256: and 64 hex digits`},
	} {
		calls := map[string]func() error{
			"get":      func() error { _, err := Get(ctx, tc.ref, opts...); return err },
			"prefetch": func() error { _, err := Prefetch(ctx, tc.ref, image.Want{}, t.TempDir(), opts...); return err },
			"verify":   func() error { _, err := Verify(ctx, tc.ref, nil, opts...); return err },
		}
		if !strings.Contains(tc.ref, "@") {
			calls["push"] = func() error { _, err := Push(ctx, filepath.Join(t.TempDir(), "none.tar"), tc.ref, opts...); return err }
		}
		for what, call := range calls {
			err := call()
			if !errors.Is(err, ErrBadReference) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s %s: %v\nwant bad input saying %q", what, tc.ref, err, tc.want)
			}
		}
	}
	// A push goes to a tag: a digest is named as the problem.
	_, err := Push(ctx, "none.tar", "127.0.0.1:5000/x@"+digest64, opts...)
	if !errors.Is(err, ErrBadReference) || !strings.Contains(err.Error(), "a push goes to a tag, not a digest") {
		t.Errorf("push to a digest: %v", err)
	}
	// What the grammar allows still parses.
	for _, ref := range []string{"127.0.0.1:5000/a__b/c-d/e.f:t", "[::ffff:127.0.0.1]:5000/x:t", "localhost:65535/x--y/z_1:t", "127.0.0.1:5000/x@" + digest64} {
		if _, err := parseRef(ref); err != nil {
			t.Errorf("%s: %v", ref, err)
		}
	}
}
