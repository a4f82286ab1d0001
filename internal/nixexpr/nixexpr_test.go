package nixexpr

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
)

// hostile are strings that a careless quoter gets wrong.
var hostile = []string{
	"", "plain", `a "quoted" \ back`, `\`, `\\`, `"`, `\"`, "${HOME}", "$x", "$", "$$", "$${y}", "$\\{", `\${`, "${",
	"{", "}", "tab\there", "new\nline", "cr\rlf\r\n", "\r", "ünï ✓", "''", "''${x}", "'\\n'", "\x1b[2J", "\U0001F600",
	// pkg/scaffold's cases, from before this package.
	"${HOME} $x $${y}", "tab\there\nnew line",
}

// TestStringNix evaluates String's literals with nix-instantiate itself:
// each evaluates to the string it quotes, and unquote, the tests' model of
// Nix's reading, agrees.
func TestStringNix(t *testing.T) {
	ins := append([]string{}, hostile...)
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"$", "{", "}", `\`, `"`, "'", "\n", "\r", "\t", "a", " ", "é", "✓"}
	for range 200 {
		var b strings.Builder
		for range r.IntN(12) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		ins = append(ins, b.String())
	}
	var expr strings.Builder
	expr.WriteString("[")
	for _, s := range ins {
		expr.WriteString(" " + String(s))
	}
	expr.WriteString(" ]")
	out, _, err := testenv.NixInstantiate(t, t.TempDir(), "--eval", "--strict", "--json", "-E", expr.String())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != len(ins) {
		t.Fatalf("nix-instantiate printed %.300s: %v", out, err)
	}
	for i, s := range ins {
		if got[i] != s {
			t.Errorf("String(%q) = %s evaluates to %q", s, String(s), got[i])
		}
		if u, err := unquote(String(s)); err != nil || u != s {
			t.Errorf("unquote(String(%q)) = %q, %v: the model disagrees with Nix", s, u, err)
		}
	}
}

// unquote reads a Nix "..." string literal as Nix does, failing where Nix
// would read something else than a plain string: an interpolation, an
// unescaped quote before the end, a bare carriage return (which Nix reads
// as a newline).
func unquote(lit string) (string, error) {
	if len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' {
		return "", errors.New("not in double quotes")
	}
	body := lit[1 : len(lit)-1]
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		switch c := body[i]; {
		case c == '\\':
			if i++; i == len(body) {
				return "", errors.New("escapes the closing quote")
			}
			switch body[i] {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			default:
				b.WriteByte(body[i])
			}
		case c == '"':
			return "", errors.New("unescaped quote inside")
		case c == '\r':
			return "", errors.New("bare carriage return")
		case c == '$' && i+1 < len(body) && body[i+1] == '{':
			return "", errors.New("interpolation")
		case c == '$' && i+1 < len(body) && body[i+1] == '$':
			// Nix reads "$$" as two dollars, whatever follows.
			b.WriteString("$$")
			i++
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// FuzzString: every string without NUL quotes to a literal that Nix, as
// unquote models it (and TestStringNix checks the model), reads back as
// the same string.
func FuzzString(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.IndexByte(s, 0) >= 0 {
			t.Skip("Nix strings hold no NUL")
		}
		lit := String(s)
		if u, err := unquote(lit); err != nil || u != s {
			t.Fatalf("String(%q) = %s reads back as %q, %v", s, lit, u, err)
		}
	})
}
