package docs_test

import (
	"strings"
	"testing"
)

// TestMatches: "..." alone is any lines, in a line any text; the rest is
// exact, so a changed line fails the docs check.
func TestMatches(t *testing.T) {
	for _, tc := range []struct {
		want, got string
		ok        bool
	}{
		{"a\nb", "a\nb", true},
		{"a\nb", "a\nc", false},
		{"a\n...\nd", "a\nb\nc\nd", true},
		{"a\n...\nd", "a\nd", true},
		{"a\n...", "a", true},
		{"x ... z", "x yy z", true},
		{"x ... z", "x yy", false},
		{"a", "a\nb", false},
		{"", "", true},
		{"", "a", false},
	} {
		var want, got []string
		if tc.want != "" {
			want = strings.Split(tc.want, "\n")
		}
		if tc.got != "" {
			got = strings.Split(tc.got, "\n")
		}
		if matches(want, got) != tc.ok {
			t.Errorf("matches(%q, %q) = %v", tc.want, tc.got, !tc.ok)
		}
	}
}
