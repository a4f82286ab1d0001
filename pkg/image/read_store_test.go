package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
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
	_, err = testenv.LayerBlobs(f.Images[0])
	return err
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
		data := testenv.ReadFile(t, blobs[1].Path)
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

// FuzzOpenStoreLinks opens a layout whose blobs may link into a store
// directory, with FollowStoreLinks, after the ops of FuzzOpenLayout on
// both ("@store" is the store's path): no panic, no hang, and a blob read
// back has the bytes its digest names (Open's verifier; readAllOf reads
// everything).
func FuzzOpenStoreLinks(f *testing.F) {
	f.Add("mv @layer s/l\nln @layer @store/l")
	f.Add("mv @layer s/l\nln s/m /etc/passwd\nln @layer @store/m")
	f.Add("mv @layer s/l\nln @layer @store/../etc/passwd")
	f.Add("mv @config s/c\nln @config @store/c\nmv @layer s/l\nln @layer @store/l")
	f.Add("ln index.json @store/i")
	ms := assemble(false, []byte(seedIndex), []byte(seedManifest), []byte(seedConfig), []byte("layer"))
	base := f.TempDir()
	dir, store := filepath.Join(base, "layout"), filepath.Join(base, "store")
	names := strings.NewReplacer("@manifest", ms[2].name, "@config", ms[3].name, "@layer", ms[4].name, "@store", store)
	f.Fuzz(func(t *testing.T, ops string) {
		resetLayout(t, dir, ms)
		if err := os.RemoveAll(store); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(store, 0o755); err != nil {
			t.Fatal(err)
		}
		root, sroot := openRoot(t, dir), openRoot(t, store)
		for _, o := range layoutOps(ops, names) {
			// "s/x" names x in the store.
			r, n := root, o.name
			if rel, ok := strings.CutPrefix(o.name, "s/"); ok {
				r, n = sroot, rel
			}
			switch o.op {
			case "mv":
				// Move a layout file into the store: read it, remove it.
				data, err := root.ReadFile(o.name)
				if err == nil {
					if rel, ok := strings.CutPrefix(path.Clean("/"+o.arg), "/s/"); ok {
						sroot.WriteFile(rel, data, 0o644)
						root.Remove(o.name)
					}
				}
			case "ln":
				r.Symlink(names.Replace(o.arg), n)
			case "put":
				r.WriteFile(n, []byte(o.arg), 0o644)
			case "rm":
				r.RemoveAll(n)
			}
		}
		file, err := Open(dir, FollowStoreLinks(store))
		if err != nil {
			return
		}
		defer file.Close()
		readAllOf(file)
		for _, img := range file.Images {
			layers, err := img.Layers()
			if err != nil {
				continue
			}
			for _, l := range layers {
				want, _ := l.Digest()
				rc, err := l.Compressed()
				if err != nil {
					continue
				}
				h := sha256.New()
				_, err = io.Copy(h, rc)
				rc.Close()
				if got := hex.EncodeToString(h.Sum(nil)); err == nil && got != want.Hex {
					t.Fatalf("layer %s read back as sha256:%s", want, got)
				}
			}
		}
	})
}
