package countio

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// TestCount: N is what passed through, across several calls, and a
// short read or write counts only what passed.
func TestCount(t *testing.T) {
	var buf bytes.Buffer
	w := &Writer{W: &buf}
	io.WriteString(w, "hello, ")
	io.WriteString(w, "world")
	if w.N != 12 || buf.String() != "hello, world" {
		t.Errorf("Writer: N %d, wrote %q", w.N, buf.String())
	}
	r := &Reader{R: io.LimitReader(strings.NewReader("0123456789"), 7)}
	got, err := io.ReadAll(r)
	if err != nil || r.N != 7 || string(got) != "0123456789"[:7] {
		t.Errorf("Reader: N %d, read %q, %v", r.N, got, err)
	}
}
