package nixbuild

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/args"
)

// TestReadStreamScriptRegularAndBounded: a FIFO as the stream script is
// refused at once, without blocking for a writer, and a stream script over
// args.MaxEvalOutput is refused by its size.
func TestReadStreamScriptRegularAndBounded(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "script")
	testenv.Mkfifo(t, fifo)
	big := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(big, append([]byte("#!/bin/bunix nix-stream\n"), bytes.Repeat([]byte(" "), args.MaxEvalOutput)...), 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := ReadStreamScript(fifo); err == nil || !strings.Contains(err.Error(), fifo+" is a named pipe (FIFO), not a regular file") {
			t.Errorf("FIFO script: got %v", err)
		}
		if _, err := ReadStreamScript(big); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%s: the stream script is larger than %d bytes", big, args.MaxEvalOutput)) {
			t.Errorf("large script: got %v", err)
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("reading a FIFO blocked")
	}
}

// FuzzParseStreamScript: ParseStreamScript never panics, and what it
// accepts has a spec and absolute layer paths.
func FuzzParseStreamScript(f *testing.F) {
	f.Add([]byte("#!/nix/store/x-bunix/bin/bunix nix-stream\n{\"spec\":{\"version\":3},\"layers\":[\"/nix/store/y-layer\"]}"))
	f.Add([]byte("#!x\n{}"))
	f.Add([]byte("{}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseStreamScript(data)
		if err != nil {
			return
		}
		if len(s.Spec) == 0 {
			t.Fatalf("accepted %q without a spec", data)
		}
		for _, l := range s.Layers {
			if !strings.HasPrefix(l, "/") {
				t.Fatalf("accepted the relative layer %q", l)
			}
		}
	})
}
