package image

import (
	"errors"
	"strings"
	"testing"
)

// TestNameError: an unknown format or compression is a *NameError, whose
// Reason is its message without the name, for a caller that shows the
// name as a field's value.
func TestNameError(t *testing.T) {
	for _, tc := range []struct {
		parse       func(string) error
		name        string
		msg, reason string
	}{
		{func(s string) error { _, err := ParseFormat(s); return err }, "tar",
			`unknown format "tar" (known: docker-archive, oci-archive, oci)`, "unknown format (known: docker-archive, oci-archive, oci)"},
		{func(s string) error { _, err := ParseCompression(s); return err }, "xz",
			`unknown compression "xz" (known: none, gzip, zstd)`, "unknown compression (known: none, gzip, zstd)"},
		{func(s string) error { _, err := ParseFormat(s); return err }, strings.Repeat("x", 300),
			`unknown format "` + strings.Repeat("x", 80) + `"... (300 bytes) (known: docker-archive, oci-archive, oci)`, "unknown format (known: docker-archive, oci-archive, oci)"},
	} {
		err := tc.parse(tc.name)
		var ne *NameError
		if !errors.As(err, &ne) || ne.Name != tc.name || err.Error() != tc.msg || ne.Reason() != tc.reason {
			t.Errorf("%s: got %#v (%v)", tc.name, err, err)
		}
	}
}
