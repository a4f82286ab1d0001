package bench

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"testing"
)

// TestInputs checks that the inputs are the same on every run, that an
// existing input is kept, and that gzip halves the data, give or take.
func TestInputs(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	for _, dir := range []string{a, b} {
		if err := Kernel(dir, 3<<20+5); err != nil {
			t.Fatal(err)
		}
		if err := Rootfs(dir, 250); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"kernel", "files/f000", "files/f099", "rootfs/d000/f000", "rootfs/d002/f049"} {
		x, err := os.ReadFile(filepath.Join(a, name))
		if err != nil {
			t.Fatal(err)
		}
		if y, _ := os.ReadFile(filepath.Join(b, name)); !bytes.Equal(x, y) {
			t.Errorf("%s differs between two runs", name)
		}
	}
	kernel := filepath.Join(a, "kernel")
	data, _ := os.ReadFile(kernel)
	if len(data) != 3<<20+5 {
		t.Fatalf("the kernel has %d bytes", len(data))
	}
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, 6)
	zw.Write(data)
	zw.Close()
	if r := float64(z.Len()) / float64(len(data)); r < 0.4 || r > 0.7 {
		t.Errorf("gzip -6 makes the kernel %.2f of its size, want about half", r)
	}
	before, _ := os.Stat(kernel)
	if err := Kernel(a, 3<<20+5); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.Stat(kernel); !after.ModTime().Equal(before.ModTime()) {
		t.Error("an existing input was written again")
	}
}
