package image

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nubificus/bunix/pkg/output"
)

// TestSweepLayoutTemps: of the directories named like a temporary layout
// of x, only those whose process is gone and whose lock is free are
// removed; a live process's (even before it takes its lock), a locked
// one, one of another name and a file stay.
func TestSweepLayoutTemps(t *testing.T) {
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	dead, live := strconv.Itoa(gone.Process.Pid), strconv.Itoa(os.Getpid())
	parent := t.TempDir()
	for _, d := range []string{".x.tmp-" + dead + "-1", ".x.tmp-" + dead + "-2", ".x.tmp-" + live + "-3", ".x.tmp-77", ".y.tmp-" + dead + "-4"} {
		if err := os.MkdirAll(filepath.Join(parent, d, "blobs"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(parent, ".x.tmp-"+dead+"-5"), nil, 0o644)
	lock, err := lockDir(filepath.Join(parent, ".x.tmp-"+dead+"-2"), unix.LOCK_EX)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	dir, pattern := output.TempBeside(filepath.Join(parent, "x"))
	sweepLayoutTemps(dir, pattern)
	ents, _ := os.ReadDir(parent)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	want := []string{".x.tmp-" + dead + "-2", ".x.tmp-" + dead + "-5", ".x.tmp-" + live + "-3", ".x.tmp-77", ".y.tmp-" + dead + "-4"}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("after the sweep: %v, want %v", names, want)
	}
}
