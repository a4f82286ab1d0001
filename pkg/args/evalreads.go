package args

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Read is a file or directory that evaluating a description read.
type Read struct {
	// Path is its absolute path, as Nix named it.
	Path string
	// Tree says that everything below Path was read too (builtins.path,
	// filterSource, fetchGit), not only Path itself.
	Tree bool
}

// maxReads is how many distinct paths an evaluation may read.
const maxReads = 1 << 16

// maxTraceLine is the longest stderr line of nix-instantiate that is
// looked at for a marker: a traced path (PATH_MAX bytes, each escaped in
// at most 6) fits well.
const maxTraceLine = 64 << 10

// newMarker returns a nonce that starts the traces evalExpr's hooks write,
// which the evaluated files cannot know and so cannot forge or hide.
func newMarker() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "bunix-read-" + hex.EncodeToString(b), nil
}

// readScanner is nix-instantiate's stderr: the lines holding marker (the
// hooks' traces, "trace: MARKER KIND JSON-PATH") are recorded as reads;
// the others are kept, the first bytes of them, in other for messages.
type readScanner struct {
	marker  string
	line    []byte
	other   cappedBuffer
	seen    map[Read]bool
	tooMany bool
}

func newReadScanner(marker string, keep int) *readScanner {
	return &readScanner{marker: marker, other: cappedBuffer{limit: keep}, seen: map[Read]bool{}}
}

// Write splits p into lines; a line longer than maxTraceLine is no trace
// and goes to other as it comes.
func (s *readScanner) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.line = append(s.line, p...)
			if len(s.line) > maxTraceLine {
				s.other.Write(s.line)
				s.line = s.line[:0]
			}
			break
		}
		s.line = append(s.line, p[:i+1]...)
		p = p[i+1:]
		s.flush()
	}
	return n, nil
}

// flush handles the line written so far.
func (s *readScanner) flush() {
	line := string(s.line)
	s.line = s.line[:0]
	_, rest, ok := strings.Cut(line, s.marker+" ")
	if !ok {
		s.other.Write([]byte(line))
		return
	}
	kind, js, _ := strings.Cut(strings.TrimSpace(rest), " ")
	var p string
	if json.Unmarshal([]byte(js), &p) != nil {
		return
	}
	p = strings.TrimPrefix(strings.TrimPrefix(p, "git+"), "file://")
	if !filepath.IsAbs(p) {
		return
	}
	p = filepath.Clean(p)
	s.add(Read{Path: p, Tree: kind == "tree"})
	// Importing a directory reads its default.nix.
	if fi, err := os.Stat(p); kind == "import" && err == nil && fi.IsDir() {
		s.add(Read{Path: filepath.Join(p, "default.nix")})
	}
}

// add records r, unless maxReads are recorded already.
func (s *readScanner) add(r Read) {
	if s.seen[r] {
		return
	}
	if len(s.seen) >= maxReads {
		s.tooMany = true
		return
	}
	s.seen[r] = true
}

// reads returns what was read, sorted, the file self left out.
func (s *readScanner) reads(self string) []Read {
	var out []Read
	for r := range s.seen {
		if r.Path != self {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}
