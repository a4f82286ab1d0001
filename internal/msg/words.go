package msg

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Bounds of a printed message line: the longest word (a path, an
// argument) shown whole, and the longest line.
const (
	MaxWord = 256
	MaxLine = 4096
)

// Lines returns s, a message as a command prints it, with every word longer
// than MaxWord cut (CutWords) and then every line longer than MaxLine
// (Cut): a 120 KB argument echoed back, or a path past PATH_MAX, gives a
// short line that still ends with its cause.
//
// Control characters other than tab and newline (an escape sequence a
// registry put in its error body, a carriage return that would overwrite
// the line) and bytes that are not UTF-8 are shown escaped, as Go quotes
// them ("\x1b", "\r", "\xff"), never sent to the terminal raw; trailing
// newlines are dropped.
func Lines(s string) string {
	lines := strings.Split(escapeControls(strings.TrimRight(s, "\n")), "\n")
	for i, l := range lines {
		lines[i] = Cut(CutWords(l, MaxWord), MaxLine)
	}
	return strings.Join(lines, "\n")
}

// CutWords returns s with each word (a run of bytes other than spaces,
// tabs and newlines) longer than n cut: a quoted one ("…", as strconv
// quotes) by Quote, any other by Cut, a trailing : , ; or ) kept after the
// marker; a word that Cut or Quote with n cut already (ending in "...")
// is left as it is. It is the rule for a message built around a value that may be
// long, a path in an *fs.PathError say: the value is cut, and the words
// around it, the cause ("file name too long") among them, are kept:
//
//	CutWords("stat /aaaaaaaaa: file name too long", 4) == "stat /aaa... (10 bytes): file name too long"
func CutWords(s string, n int) string {
	if !hasLongWord(s, n) {
		return s
	}
	var b strings.Builder
	for len(s) > 0 {
		i := strings.IndexAny(s, " \t\n")
		if i < 0 {
			i = len(s)
		}
		b.WriteString(cutWord(s[:i], n))
		if i == len(s) {
			break
		}
		b.WriteByte(s[i])
		s = s[i+1:]
	}
	return b.String()
}

// hasLongWord reports whether s has a word longer than n.
func hasLongWord(s string, n int) bool {
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' }) {
		if len(w) > n {
			return true
		}
	}
	return false
}

// cutWord cuts one word longer than n, as CutWords says.
func cutWord(w string, n int) string {
	if len(w) <= n {
		return w
	}
	end := len(w)
	for end > 0 && strings.IndexByte(":,;)", w[end-1]) >= 0 {
		end--
	}
	word, tail := w[:end], w[end:]
	// A value Cut or Quote cut already, whose marker follows.
	if strings.HasSuffix(word, "...") && len(word) <= n+len(`""...`) {
		return w
	}
	if len(word) >= 2 && word[0] == '"' {
		if u, err := strconv.Unquote(word); err == nil {
			return Quote(u, n) + tail
		}
	}
	return Cut(word, n) + tail
}

// escapeControls returns s with every control character but tab and
// newline, and every byte that is not UTF-8, escaped as strconv.Quote
// escapes it.
func escapeControls(s string) string {
	clean := true
	for _, r := range s {
		if unsafeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if unsafeRune(r) {
			q := strconv.Quote(s[i : i+size])
			b.WriteString(q[1 : len(q)-1])
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// unsafeRune reports whether r may not reach a terminal raw: a C0 or C1
// control other than tab and newline, DEL, or the replacement rune
// (RuneError, which decoding gives for a byte that is not UTF-8 too).
func unsafeRune(r rune) bool {
	return r < 0x20 && r != '\t' && r != '\n' || r >= 0x7f && r <= 0x9f || r == utf8.RuneError
}

// InvalidUTF8 returns the index of the first byte of b that is not part of
// a valid UTF-8 sequence, or -1 when b is valid UTF-8: where a message about
// bytes that are not text points.
func InvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}
