package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Within returns what f returns, failing t if f has not returned after d:
// for a call that must not block, on a FIFO say. what names the call in
// the failure. For a call that, broken, blocks for ever, d is only when
// the test gives up: a minute, which no loaded machine takes for a call
// that returns at once. Where d must tell a slow call from a quick one,
// leave the slow one many times d.
func Within[T any](t testing.TB, d time.Duration, what string, f func() T) T {
	t.Helper()
	done := make(chan T, 1)
	go func() { done <- f() }()
	select {
	case r := <-done:
		return r
	case <-time.After(d):
		t.Fatalf("%s still running after %v", what, d)
		panic("unreachable")
	}
}

// Snapshot lists every file under dir with its mode and bytes, for a test
// that compares a tree before and after.
func Snapshot(t testing.TB, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		data := ""
		if fi.Mode().IsRegular() {
			d, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			data = string(d)
		}
		b.WriteString(p + " " + fi.Mode().String() + " " + data + "\n")
		return nil
	})
	if err != nil {
		t.Fatalf("listing %s: %v", dir, err)
	}
	return b.String()
}

// Mkfifo makes a FIFO at path, failing t if it cannot.
func Mkfifo(t testing.TB, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Outside makes a directory apart from any tree a test plans, holding the
// file name with data: what a swapped link would smuggle into an image.
func Outside(t testing.TB, name, data string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// SwapForLink replaces the file or directory at path with a symbolic link
// to target, as an attacker would between a plan and a copy.
func SwapForLink(t testing.TB, path, target string) {
	t.Helper()
	if err := os.RemoveAll(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
}

// MissingInOrder returns the first of want that s does not hold after the
// ones before it, in their order, or "" when s holds them all so.
func MissingInOrder(s string, want ...string) string {
	for _, w := range want {
		i := strings.Index(s, w)
		if i < 0 {
			return w
		}
		s = s[i+len(w):]
	}
	return ""
}
