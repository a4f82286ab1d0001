package image

import (
	"archive/tar"
	"bufio"
	"fmt"
	"io"
	"testing"
)

// layerTar streams a layer tar of the headers hs makes, one per call with
// 0, 1, … until it returns nil.
func layerTar(t *testing.T, hs func(int) *tar.Header) *tar.Reader {
	pr, pw := io.Pipe()
	go func() {
		bw := bufio.NewWriterSize(pw, 1<<20)
		tw := tar.NewWriter(bw)
		for i := 0; ; i++ {
			h := hs(i)
			if h == nil {
				break
			}
			if err := tw.WriteHeader(h); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		err := tw.Close()
		if err == nil {
			err = bw.Flush()
		}
		pw.CloseWithError(err)
	}()
	t.Cleanup(func() { pr.Close() })
	return tar.NewReader(pr)
}

// TestApplyLayerHardLinks: a hard link is the type of the earlier entry it
// links to, in this layer or an earlier one; one to a path the layers do
// not hold is no file (before, it counted as a regular file, and a base
// whose kernel was a hard link to /etc/passwd built).
func TestApplyLayerHardLinks(t *testing.T) {
	files := map[string]Type{}
	entries := 0
	hs := []*tar.Header{
		{Name: "a", Typeflag: tar.TypeReg, Mode: 0o644},
		{Name: "s", Typeflag: tar.TypeSymlink, Linkname: "a"},
	}
	first := layerTar(t, func(i int) *tar.Header {
		if i < len(hs) {
			return hs[i]
		}
		return nil
	})
	if err := applyLayer(first, files, &entries); err != nil {
		t.Fatal(err)
	}
	hs = []*tar.Header{
		{Name: "b", Typeflag: tar.TypeReg, Mode: 0o644},
		{Name: "to-b", Typeflag: tar.TypeLink, Linkname: "b"},
		{Name: "to-a", Typeflag: tar.TypeLink, Linkname: "/a"},
		{Name: "to-s", Typeflag: tar.TypeLink, Linkname: "s"},
		{Name: "kernel", Typeflag: tar.TypeLink, Linkname: "/etc/passwd"},
	}
	second := layerTar(t, func(i int) *tar.Header {
		if i < len(hs) {
			return hs[i]
		}
		return nil
	})
	if err := applyLayer(second, files, &entries); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]Type{"/to-b": Regular, "/to-a": Regular, "/to-s": Symlink} {
		if got, ok := files[p]; !ok || got != want {
			t.Errorf("%s: %v (%v), want %v", p, got, ok, want)
		}
	}
	if got, ok := files["/kernel"]; ok {
		t.Errorf("/kernel, a hard link to /etc/passwd which no layer holds, is a %v", got)
	}
}

// TestApplyLayerManyWhiteouts applies a layer of many files, then one of
// as many whiteouts: half name files of the first, half name nothing. With
// a look-up per whiteout per file it would not end.
func TestApplyLayerManyWhiteouts(t *testing.T) {
	const n = 100_000
	files := map[string]Type{}
	entries := 0
	first := layerTar(t, func(i int) *tar.Header {
		switch {
		case i == 0:
			return &tar.Header{Name: "d/", Typeflag: tar.TypeDir, Mode: 0o755}
		case i == 1:
			return &tar.Header{Name: "o/", Typeflag: tar.TypeDir, Mode: 0o755}
		case i == 2:
			return &tar.Header{Name: "o/x", Typeflag: tar.TypeReg, Mode: 0o644}
		case i == 3:
			return &tar.Header{Name: "gone/sub/y", Typeflag: tar.TypeReg, Mode: 0o644}
		case i < n+4:
			return &tar.Header{Name: fmt.Sprintf("d/f%d", i-4), Typeflag: tar.TypeReg, Mode: 0o644}
		}
		return nil
	})
	if err := applyLayer(first, files, &entries); err != nil {
		t.Fatal(err)
	}
	if len(files) != n+4 {
		t.Fatalf("%d files after the first layer, want %d", len(files), n+4)
	}
	second := layerTar(t, func(i int) *tar.Header {
		switch {
		case i == 0:
			return &tar.Header{Name: "o/.wh..wh..opq", Typeflag: tar.TypeReg}
		case i == 1:
			return &tar.Header{Name: "gone/.wh.sub", Typeflag: tar.TypeReg}
		case i == 2:
			return &tar.Header{Name: ".wh.", Typeflag: tar.TypeReg}
		case i < n+3:
			j := i - 3
			if j%2 == 0 {
				return &tar.Header{Name: fmt.Sprintf("d/.wh.f%d", j), Typeflag: tar.TypeReg}
			}
			return &tar.Header{Name: fmt.Sprintf("d/.wh.none%d", j), Typeflag: tar.TypeReg}
		}
		return nil
	})
	if err := applyLayer(second, files, &entries); err != nil {
		t.Fatal(err)
	}
	// Left: /d, /o (an opaque whiteout empties it, but keeps it) and the
	// odd files of /d.
	if want := 2 + n/2; len(files) != want {
		t.Fatalf("%d files after the whiteouts, want %d", len(files), want)
	}
	for _, p := range []string{"/d", "/o", "/d/f1", fmt.Sprintf("/d/f%d", n-1)} {
		if _, ok := files[p]; !ok {
			t.Errorf("%s is gone", p)
		}
	}
	for _, p := range []string{"/o/x", "/gone/sub/y", "/d/f0", fmt.Sprintf("/d/f%d", n-2)} {
		if _, ok := files[p]; ok {
			t.Errorf("%s is left", p)
		}
	}
}

// TestWhiteout: the names OCI whiteouts take, and what each hides.
func TestWhiteout(t *testing.T) {
	for _, tc := range []struct {
		p, target  string
		opaque, ok bool
	}{
		{"/d/.wh.x", "/d/x", false, true},
		{"/.wh.a", "/a", false, true},
		{"/d/.wh..wh..opq", "/d", true, true},
		{"/.wh..wh..opq", "/", true, true},
		{"/.wh.", "", false, true},
		{"/.wh..", "", false, true},
		{"/d/x", "", false, false},
		{"/d/wh.x", "", false, false},
	} {
		if target, opaque, ok := Whiteout(tc.p); target != tc.target || opaque != tc.opaque || ok != tc.ok {
			t.Errorf("Whiteout(%q) = %q, %v, %v; want %q, %v, %v", tc.p, target, opaque, ok, tc.target, tc.opaque, tc.ok)
		}
	}
}
