package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// TestIsUserError: what the registry refuses and a missing file are the
// user's, the rule pkg/source's callers and nix-pull share; a registry that
// fails, or any other error, is not.
func TestIsUserError(t *testing.T) {
	_, missing := os.Open(filepath.Join(t.TempDir(), "image.tar"))
	_, badRef := Get(context.Background(), "UPPER/Case:tag")
	dir := t.TempDir()
	os.Symlink("loop", filepath.Join(dir, "loop"))
	os.WriteFile(filepath.Join(dir, "file"), nil, 0o644)
	_, loop := os.Stat(filepath.Join(dir, "loop"))
	_, underFile := os.Stat(filepath.Join(dir, "file", "image.tar"))
	_, tooLong := os.Stat(filepath.Join(dir, strings.Repeat("a", 300)))
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"a missing file", fmt.Errorf("pushing: %w", missing), true},
		{"a link loop", fmt.Errorf("opening: %w", loop), true},
		{"a path under a file", fmt.Errorf("opening: %w", underFile), true},
		{"a name too long", fmt.Errorf("opening: %w", tooLong), true},
		{"a reference that does not parse", badRef, true},
		{"no such image", &transport.Error{StatusCode: http.StatusNotFound}, true},
		{"credentials wanted", &transport.Error{StatusCode: http.StatusUnauthorized}, true},
		{"a registry that fails", &transport.Error{StatusCode: http.StatusInternalServerError}, false},
		{"another error", errors.New("connection reset"), false},
	} {
		if got := IsUserError(tc.err); got != tc.want {
			t.Errorf("%s (%v): IsUserError = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}
