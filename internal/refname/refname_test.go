package refname

import (
	"strings"
	"testing"
)

func TestDigest(t *testing.T) {
	hex := strings.Repeat("0a", 32)
	for d, want := range map[string]bool{
		"sha256:" + hex:                  true,
		"sha256:" + strings.ToUpper(hex): false,
		"sha256:" + hex[1:]:              false,
		"sha256:" + hex + "0":            false,
		"sha512:" + hex:                  false,
		hex:                              false,
		"":                               false,
		"sha256:" + hex[:63] + "g":       false,
	} {
		if got := Digest(d); got != want {
			t.Errorf("Digest(%q) = %v, want %v", d, got, want)
		}
	}
}
