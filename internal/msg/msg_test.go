package msg

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestQuote(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"", 0, `""`},
		{"abc", 3, `"abc"`},
		{"abcdef", 3, `"abc"... (6 bytes)`},
		{"a\nb", 4, `"a\nb"`},
		{"a\nb", 3, `"a\n"... (3 bytes)`},
		{"a\nb", 2, `"a"... (3 bytes)`},  // an escape is not split
		{"ab✓c", 4, `"ab"... (6 bytes)`}, // nor is a rune
		{"ab✓c", 5, `"ab✓"... (6 bytes)`},
		{"\x1b[2J", 10, `"\x1b[2J"`},
		{"\xff\xfe", 4, `"\xff"... (2 bytes)`},
		{"abc", -1, `""... (3 bytes)`},
	} {
		if got := Quote(tc.s, tc.n); got != tc.want {
			t.Errorf("Quote(%q, %d) = %s, want %s", tc.s, tc.n, got, tc.want)
		}
	}
}

func TestCut(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"", 0, ""},
		{"abc", 3, "abc"},
		{"abcdef", 3, "abc... (6 bytes)"},
		{"ab✓c", 4, "ab... (6 bytes)"},
		{"ab✓c", 5, "ab✓... (6 bytes)"},
		{"a\nb", 2, "a\n... (3 bytes)"}, // no escaping
		{"abc", -1, "... (3 bytes)"},
	} {
		if got := Cut(tc.s, tc.n); got != tc.want {
			t.Errorf("Cut(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}

// TestLong: a 10 MB value gives a message of a few hundred bytes that says
// how long it was.
func TestLong(t *testing.T) {
	long := strings.Repeat("\x00", 10<<20)
	if got := Quote(long, 256); len(got) > 256+2+len(Marker(len(long))) || !strings.HasSuffix(got, `"... (10485760 bytes)`) {
		t.Errorf("Quote of 10 MB: %d bytes, %.300s", len(got), got)
	}
	if got := Cut(long, 256); len(got) != 256+len(Marker(len(long))) {
		t.Errorf("Cut of 10 MB: %d bytes", len(got))
	}
}

// FuzzQuote: whatever the value and the bound, Quote's result is at most
// the bound, the quotes and the marker long, valid UTF-8, and unquotes to
// a prefix of the value (the whole value when there is no marker); Cut's is
// at most the bound and the marker long, begins with a prefix of the
// value, and is valid UTF-8 when the value is.
func FuzzQuote(f *testing.F) {
	f.Add("plain", 3)
	f.Add("ab✓c", 4)
	f.Add("\x1b[2J\n\xff\xfe", 5)
	f.Add("\U0001F600\U0001F600", 5)
	f.Fuzz(func(t *testing.T, s string, n int) {
		n %= 1 << 12
		mark := Marker(len(s))
		q := Quote(s, n)
		if len(q) > max(n, 0)+2+len(mark) {
			t.Fatalf("Quote(%q, %d) = %s: %d bytes", s, n, q, len(q))
		}
		if !utf8.ValidString(q) {
			t.Fatalf("Quote(%q, %d) = %q: not UTF-8", s, n, q)
		}
		body, cut := strings.CutSuffix(q, mark)
		u, err := strconv.Unquote(body)
		if err != nil || !strings.HasPrefix(s, u) || !cut && u != s {
			t.Fatalf("Quote(%q, %d) = %s: unquotes to %q, %v", s, n, q, u, err)
		}
		c := Cut(s, n)
		if len(c) > max(n, 0)+len(mark) {
			t.Fatalf("Cut(%q, %d) = %q: %d bytes", s, n, c, len(c))
		}
		if body, cut := strings.CutSuffix(c, mark); !strings.HasPrefix(s, body) || !cut && body != s {
			t.Fatalf("Cut(%q, %d) = %q: not a prefix", s, n, c)
		}
		if utf8.ValidString(s) && !utf8.ValidString(c) {
			t.Fatalf("Cut(%q, %d) = %q: not UTF-8", s, n, c)
		}
	})
}

func TestCutWords(t *testing.T) {
	long := strings.Repeat("a", 5000)
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"stat /aaaaaaaaa: file name too long", 4, "stat /aaa... (10 bytes): file name too long"},
		{"short words stay", 5, "short words stay"},
		{`flag "` + long + `" is bad`, 4, `flag "aaaa"... (5000 bytes) is bad`},
		{"a\n" + long + "),\tend", 3, "a\naaa... (5000 bytes)),\tend"},
		{"ab✓c ok", 4, "ab... (6 bytes) ok"},
		{Quote(long, 8) + ": " + Cut(long, 8) + " again", 8, `"aaaaaaaa"... (5000 bytes): aaaaaaaa... (5000 bytes) again`},
	} {
		if got := CutWords(tc.s, tc.n); got != tc.want {
			t.Errorf("CutWords(%.40q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}

// TestLines: each line is cut by itself, its long words first, so a long
// path keeps the cause after it and a line of many short words stops at
// MaxLine.
func TestLines(t *testing.T) {
	path := "/" + strings.Repeat("a", 5000)
	words := strings.Repeat("ab ", 5000)
	got := Lines("stat " + path + ": file name too long\n" + words + "\nshort")
	lines := strings.Split(got, "\n")
	if len(lines) != 3 || lines[2] != "short" {
		t.Fatalf("Lines gave %d lines: %.300q", len(lines), got)
	}
	if want := "stat " + Cut(path, MaxWord) + ": file name too long"; lines[0] != want {
		t.Errorf("line 1 = %q, want %q", lines[0], want)
	}
	if len(lines[1]) > MaxLine+len(Marker(len(words))) || !strings.HasSuffix(lines[1], Marker(len(words))) {
		t.Errorf("line 2: %d bytes, ends %q", len(lines[1]), lines[1][len(lines[1])-30:])
	}
}

// TestLinesEscapesControls: what a registry or a file name puts in a
// message reaches the terminal escaped: an escape sequence, a carriage
// return, a C1 control, a byte that is not UTF-8; tabs, newlines and other
// text stay as they are, and a trailing newline is dropped.
func TestLinesEscapesControls(t *testing.T) {
	for in, want := range map[string]string{
		"status 500: \x1b]0;pwned\x07\x1b[31mRED\n": `status 500: \x1b]0;pwned\a\x1b[31mRED`,
		"a\rb":                   `a\rb`,
		"c1 \u009b2J":            `c1 \u009b2J`,
		"bad \xff byte":          `bad \xff byte`,
		"tab\tand\nnewline, é ✓": "tab\tand\nnewline, é ✓",
		"del \x7f":               `del \x7f`,
	} {
		if got := Lines(in); got != want {
			t.Errorf("Lines(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestInvalidUTF8(t *testing.T) {
	for _, c := range []struct {
		b    string
		want int
	}{{"", -1}, {"héllo", -1}, {"\xff", 0}, {"ab\xc3", 2}, {"é\x80é", 2}} {
		if got := InvalidUTF8([]byte(c.b)); got != c.want {
			t.Errorf("InvalidUTF8(%q) = %d, want %d", c.b, got, c.want)
		}
	}
}
