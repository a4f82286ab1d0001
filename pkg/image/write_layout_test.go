package image

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// syncCall is one syncPath call a test saw: the path, and whether the
// layout's final path held a layout at the time.
type syncCall struct {
	path   string
	placed string // index.json at the final path then, "" for none
}

// recordSyncs replaces syncPath for the test with one that records the
// calls under dir (each with what the final path p holds at the time)
// and fails those fail picks.
func recordSyncs(t *testing.T, dir, p string, fail func(string) bool) func() []syncCall {
	t.Helper()
	real := syncPath
	var mu sync.Mutex
	var calls []syncCall
	syncPath = func(q string) error {
		if !strings.HasPrefix(q, dir) {
			return real(q)
		}
		index, _ := os.ReadFile(filepath.Join(p, "index.json"))
		mu.Lock()
		calls = append(calls, syncCall{path: q, placed: string(index)})
		mu.Unlock()
		if fail != nil && fail(q) {
			return errors.New("injected sync failure")
		}
		return real(q)
	}
	t.Cleanup(func() { syncPath = real })
	return func() []syncCall {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(calls)
	}
}

// TestLayoutSyncedBeforeMoved: a layout is on disk before it is moved into
// place, and its move once WritePath returns: every file of the temporary
// layout is synced, then its directories, while the old layout (or
// nothing) is still at the path; then the directory holding the path.
// Over an older layout too, and not at all with WithoutSync.
func TestLayoutSyncedBeforeMoved(t *testing.T) {
	src := tree(t, sampleFiles)
	img := sampleImage(t, src)
	dir := t.TempDir()
	p := filepath.Join(dir, "image")
	calls := recordSyncs(t, dir, p, nil)
	old := ""
	for round := range 2 {
		before := len(calls())
		if err := WritePath(p, []*Image{img}, WithFormat(OCILayout)); err != nil {
			t.Fatal(err)
		}
		got := calls()[before:]
		if len(got) == 0 {
			t.Fatalf("round %d: nothing was synced", round)
		}
		last := got[len(got)-1]
		if last.path != dir || last.placed == "" {
			t.Errorf("round %d: the last sync is %s (layout in place: %t), want the directory %s once the layout is in place", round, last.path, last.placed != "", dir)
		}
		synced := map[string]int{}
		for i, c := range got[:len(got)-1] {
			rel, ok := strings.CutPrefix(c.path, dir+string(filepath.Separator)+".image.tmp-")
			if !ok {
				t.Fatalf("round %d: synced %s, not in the temporary layout", round, c.path)
			}
			if c.placed != old {
				t.Errorf("round %d: %s was synced after the new layout was moved into place", round, c.path)
			}
			_, rest, _ := strings.Cut(rel, string(filepath.Separator))
			synced[rest] = i
		}
		var files []string
		filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
			if err != nil {
				t.Fatal(err)
			}
			if d.Type().IsRegular() {
				rel, _ := filepath.Rel(p, q)
				files = append(files, rel)
			}
			return nil
		})
		if len(files) < 6 {
			t.Fatalf("round %d: the layout holds only %v", round, files)
		}
		firstDir := len(got)
		for _, d := range []string{filepath.Join("blobs", "sha256"), "blobs", ""} {
			i, ok := synced[d]
			if !ok {
				t.Errorf("round %d: the directory %q of the layout was not synced", round, d)
			}
			firstDir = min(firstDir, i)
		}
		for _, f := range files {
			i, ok := synced[f]
			if !ok {
				t.Errorf("round %d: %s was not synced", round, f)
			} else if i > firstDir {
				t.Errorf("round %d: %s was synced after a directory", round, f)
			}
		}
		index, _ := os.ReadFile(filepath.Join(p, "index.json"))
		old = string(index)
	}

	// WithoutSync syncs nothing.
	before := len(calls())
	if err := WritePath(filepath.Join(dir, "nosync"), []*Image{img}, WithFormat(OCILayout), WithoutSync()); err != nil {
		t.Fatal(err)
	}
	if got := calls()[before:]; len(got) != 0 {
		t.Errorf("WithoutSync synced %v", got)
	}
}

// TestLayoutSyncFails: a sync that fails fails the write before the new
// layout is moved into place: the old layout stays as it was, and nothing
// is left beside it.
func TestLayoutSyncFails(t *testing.T) {
	src := tree(t, sampleFiles)
	img := sampleImage(t, src)
	dir := t.TempDir()
	p := filepath.Join(dir, "image")
	if err := WritePath(p, []*Image{img}, WithFormat(OCILayout)); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, p)
	// A file's sync, then a directory's.
	for _, name := range []string{"index.json", "sha256"} {
		t.Run(name, func(t *testing.T) {
			recordSyncs(t, dir, p, func(q string) bool { return filepath.Base(q) == name && !strings.HasPrefix(q, p) })
			img.Config.Labels = map[string]string{"k": "another " + name}
			err := WritePath(p, []*Image{img}, WithFormat(OCILayout))
			if err == nil || !strings.Contains(err.Error(), "syncing") || !strings.Contains(err.Error(), "injected sync failure") {
				t.Errorf("a failed sync gave %v", err)
			}
			if got := snapshot(t, p); got != before {
				t.Error("a failed sync changed the layout")
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 1 {
				t.Errorf("a failed sync left %v", ents)
			}
		})
	}
}
