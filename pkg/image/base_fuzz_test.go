package image

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"path"
	"testing"
)

// FuzzOpenBase assembles an image file around a fuzzed layer (its diffID,
// in the config, is its digest: right for an uncompressed layer) and
// fuzzed index, manifest and config, and opens it as a base: whatever the
// layer holds, OpenBase must not crash, and the files it reports are at
// absolute, clean paths.
func FuzzOpenBase(f *testing.F) {
	var layer bytes.Buffer
	tw := tar.NewWriter(&layer)
	tw.WriteHeader(&tar.Header{Name: "unikernel/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: "unikernel/kernel", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1})
	tw.Write([]byte("k"))
	tw.WriteHeader(&tar.Header{Name: "etc/.wh..wh..opq", Typeflag: tar.TypeReg})
	tw.WriteHeader(&tar.Header{Name: "../../etc/.wh.passwd", Typeflag: tar.TypeReg})
	tw.WriteHeader(&tar.Header{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "/unikernel/kernel"})
	tw.Close()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(layer.Bytes())
	zw.Close()
	qemu := []byte(`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"@manifest","size":@manifestsize,"platform":{"os":"qemu","architecture":"amd64"}}]}`)
	for _, l := range [][]byte{layer.Bytes(), gz.Bytes(), []byte("not a tar")} {
		f.Add(false, []byte(seedIndex), []byte(seedManifest), []byte(seedConfig), l)
		f.Add(false, qemu, []byte(seedManifest), []byte(seedConfig), l)
		f.Add(true, []byte(seedDocker), []byte(""), []byte(seedConfig), l)
	}
	f.Fuzz(func(t *testing.T, docker bool, index, manifest, config, layer []byte) {
		members := assemble(docker, index, manifest, config, layer)
		data := tarOf(members)
		file, err := openArchive(bytes.NewReader(data), int64(len(data)), nil)
		if err != nil {
			return
		}
		defer file.Close()
		b, err := OpenBase(file, "base", Want{Architecture: "amd64"})
		if err != nil {
			return
		}
		for p := range b.Files {
			if !path.IsAbs(p) || path.Clean(p) != p || p == "/" {
				t.Fatalf("base file at %q", p)
			}
		}
		// A manifest that lists layers gives a base with layers: none is
		// dropped without an error. (One that lists none, as a mangled
		// "layers" key does, rightly gives none.)
		var m struct{ Layers []json.RawMessage }
		if !docker && json.Unmarshal(members[2].data, &m) == nil && len(m.Layers) > 0 && len(b.Layers) == 0 {
			t.Fatalf("the manifest lists %d layers, the base has none", len(m.Layers))
		}
	})
}
