package testenv

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"path"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/spdx/tools-golang/spdx/v2/v2_3"
	"github.com/spdx/tools-golang/spdxlib"
)

// ReadSPDX parses doc, SPDX 2.3 JSON, with tools-golang and validates it,
// failing t when it cannot; files is the SHA-256 the document gives each
// of its files, by file name ("./x").
func ReadSPDX(t testing.TB, doc []byte) (d *v2_3.Document, files map[string]string) {
	t.Helper()
	d = &v2_3.Document{}
	if err := spdxjson.ReadInto(bytes.NewReader(doc), d); err != nil {
		t.Fatalf("tools-golang cannot read the SBOM: %v\n%.2000s", err, doc)
	}
	if err := spdxlib.ValidateDocument(d); err != nil {
		t.Fatalf("tools-golang finds the SBOM invalid: %v", err)
	}
	files = map[string]string{}
	for _, f := range d.Files {
		for _, c := range f.Checksums {
			if c.Algorithm == common.SHA256 {
				files[f.FileName] = c.Value
			}
		}
	}
	return d, files
}

// LayerFileSums returns the SHA-256 of every regular file of layers, read
// with archive/tar, by path ("./x"), in layer order: a path in two layers
// has both.
func LayerFileSums(t testing.TB, layers []v1.Layer) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		WalkTar(t, rc, func(h *tar.Header, r io.Reader) {
			if h.Typeflag != tar.TypeReg {
				return
			}
			s := sha256.New()
			io.Copy(s, r)
			p := "." + path.Clean("/"+h.Name)
			out[p] = append(out[p], hex.EncodeToString(s.Sum(nil)))
		})
		rc.Close()
	}
	return out
}

// CheckSBOMFiles fails t unless every regular file of layers has the
// SHA-256 files (ReadSPDX's) gives it and files lists no other, and unless
// there are at least least of them.
func CheckSBOMFiles(t testing.TB, files map[string]string, layers []v1.Layer, least int) {
	t.Helper()
	n := 0
	for p, sums := range LayerFileSums(t, layers) {
		for _, got := range sums {
			if files[p] != got {
				t.Errorf("%s: SBOM sha256 %q, the image's %q", p, files[p], got)
			}
			n++
		}
	}
	if n != len(files) || n < least {
		t.Errorf("the image holds %d files, the SBOM lists %d", n, len(files))
	}
}
