package image

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// layerPlan is a layer ready to stream: its entries in tar order, their
// encoded headers and the exact size of the layer tar.
type layerPlan struct {
	entries []Entry
	headers [][]byte
	size    int64
}

func planLayer(l Layer, mtime time.Time) (*layerPlan, error) {
	entries, err := withParents(l.Entries)
	if err != nil {
		return nil, err
	}
	p := &layerPlan{entries: entries, headers: make([][]byte, len(entries))}
	for i := range entries {
		e := &entries[i]
		if e.Type == Regular && e.Source == "" {
			e.Size = int64(len(e.Data))
		}
		if e.Size < 0 {
			return nil, fmt.Errorf("%s: negative size %d", e.Path, e.Size)
		}
		h, err := encodeHeader(header(*e, mtime))
		if err != nil {
			return nil, err
		}
		p.headers[i] = h
		p.size += int64(len(h))
		if e.Type == Regular {
			p.size += e.Size + padding(e.Size)
		}
	}
	p.size += 2 * blockSize // end-of-archive marker
	return p, nil
}

// withParents returns entries plus the directories above them, each path
// once, parents before children.
func withParents(in []Entry) ([]Entry, error) {
	byPath := make(map[string]Entry, len(in))
	for _, e := range in {
		if !path.IsAbs(e.Path) || path.Clean(e.Path) != e.Path || e.Path == "/" {
			return nil, fmt.Errorf("entry path %q must be absolute, clean and not /", e.Path)
		}
		if old, ok := byPath[e.Path]; ok && !(old.Type == Directory && e.Type == Directory) {
			return nil, fmt.Errorf("%s is given twice in one layer (as %s and as %s)", e.Path, old.Type, e.Type)
		}
		byPath[e.Path] = e
	}
	for _, e := range in {
		for dir := path.Dir(e.Path); dir != "/"; dir = path.Dir(dir) {
			old, ok := byPath[dir]
			if !ok {
				byPath[dir] = Entry{Path: dir, Type: Directory}
				continue
			}
			if old.Type != Directory {
				return nil, fmt.Errorf("%s is a %s, but %s needs it to be a directory", dir, old.Type, e.Path)
			}
		}
	}
	out := make([]Entry, 0, len(byPath))
	for _, e := range byPath {
		out = append(out, e)
	}
	// Comparing with "/" as the lowest byte keeps every directory's
	// children right after it.
	key := func(p string) string { return strings.ReplaceAll(p, "/", "\x00") }
	sort.Slice(out, func(i, j int) bool { return key(out[i].Path) < key(out[j].Path) })
	return out, nil
}

var zeros [2 * blockSize]byte

// writeTo streams the layer tar to w and returns its sha256 (the diffID).
// buf is the copy buffer.
func (p *layerPlan) writeTo(w io.Writer, buf []byte) (v1.Hash, error) {
	h := sha256.New()
	mw := io.MultiWriter(w, h)
	for i, e := range p.entries {
		if _, err := mw.Write(p.headers[i]); err != nil {
			return v1.Hash{}, err
		}
		if e.Type != Regular {
			continue
		}
		if err := copyContents(mw, e, buf); err != nil {
			return v1.Hash{}, err
		}
		if _, err := mw.Write(zeros[:padding(e.Size)]); err != nil {
			return v1.Hash{}, err
		}
	}
	if _, err := mw.Write(zeros[:]); err != nil {
		return v1.Hash{}, err
	}
	return v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", h.Sum(nil))}, nil
}

// copyContents writes exactly e.Size bytes of e's contents to w, and fails if
// the source file is no longer that size.
func copyContents(w io.Writer, e Entry, buf []byte) error {
	if e.Source == "" {
		_, err := w.Write(e.Data)
		return err
	}
	f, err := os.Open(e.Source)
	if err != nil {
		return fmt.Errorf("reading %s for %s: %w", e.Source, e.Path, err)
	}
	defer f.Close()
	n, err := io.CopyBuffer(w, io.LimitReader(f, e.Size), buf)
	if err != nil {
		return fmt.Errorf("copying %s to %s: %w", e.Source, e.Path, err)
	}
	if n != e.Size {
		return fmt.Errorf("copying %s to %s: the file shrank from %d to %d bytes while the image was written", e.Source, e.Path, e.Size, n)
	}
	var one [1]byte
	if m, err := f.Read(one[:]); m > 0 {
		return fmt.Errorf("copying %s to %s: the file grew past %d bytes while the image was written", e.Source, e.Path, e.Size)
	} else if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("reading %s for %s: %w", e.Source, e.Path, err)
	}
	return nil
}
