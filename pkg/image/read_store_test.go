package image

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// storeLayout writes sampleImage as an OCI layout whose layer blobs link
// into store, as a Nix build's do, and returns the layout and the blobs.
func storeLayout(t *testing.T, store string) (string, []*Blob) {
	t.Helper()
	img := sampleImage(t, tree(t, sampleFiles))
	var blobs []*Blob
	for i := range img.Layers {
		dir := filepath.Join(store, "layer"+string(rune('a'+i)))
		os.Mkdir(dir, 0o755)
		p := filepath.Join(dir, "blob")
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		b, err := WriteLayer(context.Background(), f, img.Layers[i], img.Created, Uncompressed)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		b.Path = p
		img.Layers[i].Blob = &b
		blobs = append(blobs, &b)
	}
	return writePath(t, []*Image{img}, WithFormat(OCILayout)), blobs
}

// readLayers opens the layout at p with opts and reads every layer whole.
func readLayers(p string, opts ...ReadOption) error {
	f, err := Open(p, opts...)
	if err != nil {
		return err
	}
	defer f.Close()
	layers, err := f.Images[0].Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, rc)
		if cerr := rc.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// TestFollowStoreLinks: a layout whose blobs link into the store opens,
// and its layers read back, only with FollowStoreLinks naming that store.
func TestFollowStoreLinks(t *testing.T) {
	store := t.TempDir()
	p, _ := storeLayout(t, store)
	if err := readLayers(p); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("without FollowStoreLinks: %v, want a refused link", err)
	}
	if err := readLayers(p, FollowStoreLinks(store)); err != nil {
		t.Errorf("with FollowStoreLinks: %v", err)
	}
	if err := readLayers(p, FollowStoreLinks(t.TempDir())); err == nil || !strings.Contains(err.Error(), "not a path in the Nix store") {
		t.Errorf("links into another store: %v, want them refused", err)
	}
}

// TestFollowStoreLinksRefuses: a blob that links into the store but
// changed there (same size, other bytes), or whose target is itself a link
// out of the store, is refused.
func TestFollowStoreLinksRefuses(t *testing.T) {
	t.Run("changed", func(t *testing.T) {
		store := t.TempDir()
		p, blobs := storeLayout(t, store)
		data := read(t, blobs[1].Path)
		data[len(data)-2000] ^= 1
		os.Chmod(blobs[1].Path, 0o644)
		if err := os.WriteFile(blobs[1].Path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := readLayers(p, FollowStoreLinks(store)); err == nil || !strings.Contains(err.Error(), "it was changed") {
			t.Errorf("got %v, want a digest mismatch", err)
		}
	})
	t.Run("escape", func(t *testing.T) {
		store := t.TempDir()
		p, blobs := storeLayout(t, store)
		outside := filepath.Join(t.TempDir(), "blob")
		if err := os.Rename(blobs[1].Path, outside); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(outside, blobs[1].Path); err != nil {
			t.Fatal(err)
		}
		if err := readLayers(p, FollowStoreLinks(store)); err == nil {
			t.Error("a store link whose target links out of the store was followed")
		}
	})
}
