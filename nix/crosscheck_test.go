package nix_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/nubificus/bunix/internal/nixexpr"
	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/build"
	"github.com/nubificus/bunix/pkg/image"
)

// lib.nix repeats two rules of the Go side, to decide without running
// bunix whether each copy gets a layer derivation of its own: the layer
// cap (image.DefaultMaxLayers) and what a clean layer target is
// (isCleanTarget; pkg/args's checks of a target). These tests evaluate
// lib.nix and run the Go side on the same descriptions, so that changing
// a rule on one side only fails here.

// crossDesc writes, in a new directory, the description of an image of
// the files targets names (by source), a kernel among them, plus the
// rootfs rootfs (JSON, or "") and returns the directory and the
// description as JSON; every source exists.
func crossDesc(t *testing.T, targets map[string]string, rootfs string) (dir string, desc []byte) {
	t.Helper()
	dir = t.TempDir()
	files := map[string]string{"./kernel": "/unikernel/kernel"}
	for src, dst := range targets {
		files[src] = dst
	}
	for src := range files {
		if err := os.WriteFile(filepath.Join(dir, src), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d := map[string]any{
		"name":        "urunc/crosscheck",
		"files":       files,
		"annotations": map[string]string{"unikernelType": "linux", "hypervisor": "qemu", "binary": "/unikernel/kernel"},
	}
	if rootfs != "" {
		d["rootfs"] = json.RawMessage(rootfs)
	}
	desc, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return dir, desc
}

// nixLayerCount evaluates how many layer derivations lib.nix's buildImage
// gives the description desc (JSON) of the files in dir: one per copy with
// a clean target and one for a rootfs when each copy gets a layer of its
// own, else none (the image derivation then encodes its layers itself).
func nixLayerCount(t *testing.T, dir string, desc []byte) int {
	t.Helper()
	p := filepath.Join(dir, "args.json")
	if err := os.WriteFile(p, desc, 0o644); err != nil {
		t.Fatal(err)
	}
	expr := fmt.Sprintf(`builtins.length ((import (/. + %s)).buildImage (builtins.fromJSON (builtins.readFile (/. + %s)) // { root = /. + %s; bunix = /. + %s; })).bunixLayers`,
		nixexpr.String(filepath.Join(testenv.ModuleRoot(t), "nix", "lib.nix")), nixexpr.String(p), nixexpr.String(dir), nixexpr.String(testenv.Bunix(t)))
	out, _, err := testenv.NixInstantiate(t, dir, "--eval", "-E", expr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(out)
	if err != nil {
		t.Fatalf("nix-instantiate printed %q: %v", out, err)
	}
	return n
}

// TestLayerCapMatchesGo: lib.nix gives every copy a layer derivation of
// its own exactly when the image's layers (the copies, urunc.json's and a
// rootfs's) are at most image.DefaultMaxLayers, the cap past which the Go
// writer merges layers: at the cap both keep one layer per copy, one past
// it neither does.
func TestLayerCapMatchesGo(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rootfs string
		extra  int // layers besides the copies: urunc.json's, a rootfs's
	}{
		{"files", "", 1},
		{"files and a rootfs", `{"type":"initrd","include":{"./kernel":"/init"}}`, 2},
	} {
		for _, layers := range []int{image.DefaultMaxLayers, image.DefaultMaxLayers + 1} {
			t.Run(fmt.Sprintf("%s, %d layers", tc.name, layers), func(t *testing.T) {
				copies := layers - tc.extra
				targets := map[string]string{}
				for i := range copies - 1 { // the kernel is one
					targets[fmt.Sprintf("./f%d", i)] = fmt.Sprintf("/f/%d", i)
				}
				dir, desc := crossDesc(t, targets, tc.rootfs)
				a, err := args.DecodeJSON(desc, "args.json", dir)
				if err != nil {
					t.Fatal(err)
				}
				sums, err := build.Check(context.Background(), []*args.Args{a})
				if err != nil {
					t.Fatal(err)
				}
				if sums[0].Layers != layers {
					t.Fatalf("Go counts %d layers, want %d", sums[0].Layers, layers)
				}
				goSeparate := sums[0].Layers <= image.DefaultMaxLayers
				n := nixLayerCount(t, dir, desc)
				nixSeparate := n > 0
				if nixSeparate != goSeparate || nixSeparate && n != layers-1 {
					t.Errorf("%d layers: lib.nix gives %d layer derivations, but Go's cap is %d (one layer per copy: %v)", layers, n, image.DefaultMaxLayers, goSeparate)
				}
			})
		}
	}
}

// TestCleanTargetMatchesGo: lib.nix's isCleanTarget, which picks the copies
// that get a layer derivation, accepts exactly the targets pkg/args
// accepts (leaving out the names Go reserves, /urunc.json and whiteouts,
// which are not a matter of the path's shape).
func TestCleanTargetMatchesGo(t *testing.T) {
	for _, target := range []string{
		"/a", "/a/b", "/.a", "/..a", "/...", "/a.", "/a..", "/a/.b/..c", "/ a", "/a b", "/ü",
		"", "a", "a/b", "./a", "/", "//a", "/a/", "/a//b", "/./a", "/a/.", "/.", "/..", "/../a", "/a/..", "/a/../b",
	} {
		t.Run(strconv.Quote(target), func(t *testing.T) {
			dir, desc := crossDesc(t, map[string]string{"./x": target}, "")
			a, err := args.DecodeJSON(desc, "args.json", dir)
			if err != nil {
				t.Fatal(err)
			}
			_, err = a.Resolve()
			goAccepts := err == nil
			nixAccepts := nixLayerCount(t, dir, desc) == 2 // the kernel's layer and x's
			if nixAccepts != goAccepts {
				t.Errorf("target %q: lib.nix's isCleanTarget says %v, pkg/args says %v (%v)", target, nixAccepts, goAccepts, err)
			}
		})
	}
}
