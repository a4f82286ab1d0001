package build

import (
	"strings"
	"testing"

	"github.com/nubificus/bunix/pkg/image"
)

var seedLayerJSON = `{"version":1,"source":"/nix/store/x-kernel","target":"/unikernel/kernel","created":"1970-01-01T00:00:01Z","compression":"none","mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:` + hex64 + `","diffID":"sha256:` + hex64 + `","size":3072}`

var hex64 = strings.Repeat("ab", 32)

// FuzzDecodeLayerJSON: decodeLayerJSON never panics, and what it accepts
// is a usable description.
func FuzzDecodeLayerJSON(f *testing.F) {
	f.Add([]byte(seedLayerJSON))
	f.Add([]byte(strings.Replace(seedLayerJSON, `"none"`, `"gzip"`, 1)))
	f.Add([]byte(strings.Replace(seedLayerJSON, `"/nix/store/x-kernel"`, `"rootfs:sha256:`+hex64+`"`, 1)))
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := decodeLayerJSON(data)
		if err != nil {
			return
		}
		if p.Blob.Size < 0 || !image.IsSHA256(p.Blob.Digest) || !image.IsSHA256(p.Blob.DiffID) || !(strings.HasPrefix(p.Source, "/") || strings.HasPrefix(p.Source, rootfsSourcePrefix)) {
			t.Fatalf("accepted %q as %+v", data, p)
		}
	})
}
