// Package nixexpr writes Nix expressions.
package nixexpr

import (
	"strings"
	"unicode/utf8"
)

// String returns s as a Nix string literal, "...", that evaluates to s:
// nothing in it is interpolated or changed. Per the Nix manual, inside
// "..." a backslash, a double quote and the "${" that would start an
// interpolation are escaped (\\, \", \${), and so are newline, carriage
// return and tab (\n, \r, \t): Nix would read a bare carriage return as a
// newline. A "$" not followed by "{" stays as it is. Nix strings cannot
// hold a NUL byte; s must not either.
func String(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteByte(byte(r))
		case r == '$' && strings.HasPrefix(s[i:], "${"):
			b.WriteString(`\$`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	b.WriteByte('"')
	return b.String()
}
