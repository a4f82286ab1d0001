// Package msg shows values in messages. It holds the one rule for that: a
// value is quoted as Go quotes a string, and a long one is cut at a rune
// boundary and marked "... (N bytes)", N being the whole value's length,
// so that a 10 MB value or a terminal escape inside one gives a short,
// plain line.
package msg

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Quote returns s quoted as strconv.Quote quotes it, with at most n bytes
// between the quotes: when the quoted value is longer, only its first
// whole runes (each as strconv.Quote writes it, escape and all) that fit
// in n bytes, then Marker(len(s)):
//
//	Quote("abcdef", 3) == `"abc"... (6 bytes)`
//
// The result is never longer than n+2+len(Marker(len(s))) bytes, is valid
// UTF-8 whatever s is, and unquotes to a prefix of s.
func Quote(s string, n int) string {
	if len(s) <= n {
		if q := strconv.Quote(s); len(q) <= n+2 {
			return q
		}
	}
	b := make([]byte, 0, max(n, 0)+2)
	b = append(b, '"')
	for i := 0; i < len(s); {
		_, size := utf8.DecodeRuneInString(s[i:])
		q := strconv.Quote(s[i : i+size])
		q = q[1 : len(q)-1]
		if len(b)-1+len(q) > n {
			break
		}
		b = append(b, q...)
		i += size
	}
	return string(append(b, '"')) + Marker(len(s))
}

// Cut returns s when it is at most n bytes, else its first n bytes or
// fewer, cut at a rune boundary, then Marker(len(s)). It is Quote's cut
// without the quotes, for text that is not a value (a reason, a field
// name, a position) or that the caller shows its own way. The result is
// never longer than n+len(Marker(len(s))) bytes, begins with a prefix of
// s, and is valid UTF-8 when s is.
func Cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := max(n, 0)
	for k := 0; k < utf8.UTFMax-1 && i > 0 && !utf8.RuneStart(s[i]); k++ {
		i--
	}
	return s[:i] + Marker(len(s))
}

// Marker is what follows a value of size bytes that Quote or Cut cut
// short: "... (size bytes)".
func Marker(size int) string { return fmt.Sprintf("... (%d bytes)", size) }
