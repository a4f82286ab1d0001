package build

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestWarningsTo: each warning is one "bunix: warning: " line.
func TestWarningsTo(t *testing.T) {
	var buf bytes.Buffer
	o := newOptions([]Option{WarningsTo(&buf)})
	o.warn("a")
	o.warn("b c")
	if got := buf.String(); got != "bunix: warning: a\nbunix: warning: b c\n" {
		t.Errorf("printed %q", got)
	}
}

// TestIsOutput: a path names the file it is open as, through another name
// too; not another file, a missing one or a writer that is no file.
func TestIsOutput(t *testing.T) {
	dir := t.TempDir()
	p, other := filepath.Join(dir, "out"), filepath.Join(dir, "other")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	os.WriteFile(other, nil, 0o644)
	os.Symlink(p, filepath.Join(dir, "link"))
	for path, want := range map[string]bool{p: true, filepath.Join(dir, "link"): true, other: false, filepath.Join(dir, "missing"): false} {
		if got := IsOutput(f, path); got != want {
			t.Errorf("IsOutput(%s) = %v, want %v", path, got, want)
		}
	}
	if IsOutput(&bytes.Buffer{}, p) {
		t.Error("a buffer is a file")
	}
}
