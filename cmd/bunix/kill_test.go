package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestKilledOCIBuildLeavesNothing: SIGKILL, which bunix cannot catch,
// during --format oci leaves the temporary layout .image.tmp-PID-N beside
// the output; the next build of the same output removes it, but not the
// one of a bunix still writing there.
func TestKilledOCIBuildLeavesNothing(t *testing.T) {
	big, small := bigProject(t), project(t)
	outDir := t.TempDir()
	out := filepath.Join(outDir, "image")
	temps := func() []string {
		ents, _ := os.ReadDir(outDir)
		var names []string
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".image.tmp-") {
				names = append(names, e.Name())
			}
		}
		return names
	}
	build := func() {
		t.Helper()
		if code, _, stderr := cli(t, nil, "build", "-f", filepath.Join(small, "args.json"), "--format", "oci", "-o", out); code != 0 {
			t.Fatalf("build: exit %d: %s", code, stderr)
		}
	}

	killed, _, _ := startBuild(t, big, out, "--format", "oci")
	waitFor(t, killed, func() bool { return opened(killed.Process.Pid, "kernel") })
	killed.Process.Kill()
	killed.Wait()
	left := temps()
	if len(left) != 1 {
		t.Fatalf("after SIGKILL beside the output: %v, want the killed build's temporary layout", left)
	}

	// A build still running keeps its temporary layout through another
	// build of the same output.
	running, _, _ := startBuild(t, big, out, "--format", "oci")
	defer func() { running.Process.Kill(); running.Wait() }()
	waitFor(t, running, func() bool { return opened(running.Process.Pid, "kernel") })
	build()
	now := temps()
	if slices.Contains(now, left[0]) {
		t.Errorf("the next build left the killed build's %s", left[0])
	}
	if len(now) != 1 {
		t.Errorf("beside the output while a build runs: %v, want its temporary layout alone", now)
	}
	running.Process.Kill()
	running.Wait()
	build()
	if now := temps(); len(now) != 0 {
		t.Errorf("after a build, beside the output: %v", now)
	}
	if _, err := os.Stat(filepath.Join(out, "index.json")); err != nil {
		t.Errorf("no layout at the output: %v", err)
	}
}
