package image

import (
	"fmt"
	"runtime"
	"testing"
)

// TestPlanMemory: a planned layer keeps its entries, not their encoded
// headers, so that many small files cost no 512 bytes or more each for as
// long as the layer is written.
func TestPlanMemory(t *testing.T) {
	const n = 20000
	entries := make([]Entry, 0, n)
	for i := range n {
		entries = append(entries, Entry{Path: fmt.Sprintf("/rootfs/d%03d/f%03d", i/100, i%100), Type: Regular, Data: []byte("x")})
	}
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	lp, err := planLayer(Layer{Entries: entries}, DefaultCreated)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)
	per := (int64(m1.HeapAlloc) - int64(m0.HeapAlloc)) / n
	t.Logf("%d bytes an entry", per)
	if per >= blockSize {
		t.Errorf("the plan keeps %d bytes an entry, want less than a header's %d", per, blockSize)
	}
	runtime.KeepAlive(lp)
}
