package image

import (
	"container/heap"
	"fmt"
	"strings"
)

// plan returns the layers of img as they are written: at most maxLayers
// with those of its base, at least one, each planned. A layer written alone
// whose Blob has compression c is taken from its Blob.
func (img *Image) plan(maxLayers int, c Compression) ([]*layerPlan, error) {
	mtime := img.created()
	if img.Base != nil {
		maxLayers = max(1, maxLayers-len(img.Base.Layers))
	}
	var plans []*layerPlan
	for _, g := range groupLayers(img.Layers, maxLayers) {
		l, createdBy := mergeLayers(img.Layers[g.start:g.end])
		p, err := planLayer(l, mtime)
		if err != nil {
			return nil, fmt.Errorf("planning layer %d (%s): %w", len(plans), strings.Join(createdBy, "; "), err)
		}
		p.createdBy = createdBy
		if b := img.Layers[g.start].Blob; g.end == g.start+1 && b != nil && b.Compression == c {
			p.blob = b
		}
		plans = append(plans, p)
	}
	return plans, nil
}

// mergeLayers returns one layer holding what ls hold when stacked in order:
// where two of them give the same path, the later one wins, as it would
// when the layers are unpacked one over the other. It also returns their
// CreatedBy.
func mergeLayers(ls []Layer) (Layer, []string) {
	createdBy := make([]string, len(ls))
	for i, l := range ls {
		createdBy[i] = l.CreatedBy
	}
	if len(ls) == 1 {
		return ls[0], createdBy
	}
	// A path given twice within one layer stays twice, for planLayer to
	// report.
	at := map[string]int{}
	var entries []Entry
	var from []int // the layer each entry comes from
	for li, l := range ls {
		for _, e := range l.Entries {
			if i, ok := at[e.Path]; ok && from[i] < li {
				entries[i], from[i] = e, li
				continue
			}
			at[e.Path] = len(entries)
			entries = append(entries, e)
			from = append(from, li)
		}
	}
	return Layer{Entries: entries}, createdBy
}

// span is the layers [start, end) of an image, written as one.
type span struct{ start, end int }

// groupLayers splits ls into at most max runs of neighbouring layers: it
// merges the neighbours whose sum is smallest, again and again, so that the
// large layers stay alone (and shared with other images) and the many small
// ones end up together. Only neighbours are merged, so the stacking order,
// and with it which of two files at one path wins, does not change.
func groupLayers(ls []Layer, max int) []span {
	n := len(ls)
	spans := make([]span, n)
	weight := make([]int64, n)
	for i, l := range ls {
		spans[i] = span{i, i + 1}
		for _, e := range l.Entries {
			weight[i] += blockSize + e.Size + int64(len(e.Data))
		}
	}
	if n <= max {
		return spans
	}
	// Runs are a linked list, indexed by their first layer. The heap holds
	// candidate merges of a run with its next one; a candidate is stale once
	// either run has changed.
	next, prev := make([]int, n), make([]int, n)
	version := make([]int, n)
	pairs := &pairHeap{}
	for i := range n {
		next[i], prev[i] = i+1, i-1
		if i+1 < n {
			pairs.items = append(pairs.items, pair{i, i + 1, weight[i] + weight[i+1], 0, 0})
		}
	}
	heap.Init(pairs)
	for runs := n; runs > max; {
		p := heap.Pop(pairs).(pair)
		if p.va != version[p.a] || p.vb != version[p.b] || next[p.a] != p.b {
			continue
		}
		// Merge b into a.
		weight[p.a] += weight[p.b]
		version[p.a]++
		version[p.b] = -1
		spans[p.a].end = spans[p.b].end
		next[p.a] = next[p.b]
		if next[p.a] < n {
			prev[next[p.a]] = p.a
			heap.Push(pairs, pair{p.a, next[p.a], weight[p.a] + weight[next[p.a]], version[p.a], version[next[p.a]]})
		}
		if q := prev[p.a]; q >= 0 {
			heap.Push(pairs, pair{q, p.a, weight[q] + weight[p.a], version[q], version[p.a]})
		}
		runs--
	}
	var out []span
	for i := 0; i < n; i = next[i] {
		out = append(out, spans[i])
	}
	return out
}

// pair is a candidate merge of the run starting at layer a with the next
// run, starting at layer b, as they were at versions va and vb.
type pair struct {
	a, b   int
	weight int64
	va, vb int
}

// pairHeap orders candidate merges by weight, then by position, so that
// the grouping does not depend on anything but the layers.
type pairHeap struct{ items []pair }

func (h *pairHeap) Len() int { return len(h.items) }
func (h *pairHeap) Less(i, j int) bool {
	a, b := h.items[i], h.items[j]
	if a.weight != b.weight {
		return a.weight < b.weight
	}
	return a.a < b.a
}
func (h *pairHeap) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *pairHeap) Push(x any)    { h.items = append(h.items, x.(pair)) }
func (h *pairHeap) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}
