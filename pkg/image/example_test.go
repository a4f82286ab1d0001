package image_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/nubificus/bunix/pkg/image"
)

// An amd64 and an arm64 image of one name, written as one OCI image layout
// with gzip layers: index.json names an image index that lists both.
func ExampleWritePath() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	var images []*image.Image
	for _, arch := range []string{"amd64", "arm64"} {
		images = append(images, &image.Image{
			RepoTags:     []string{"urunc/hello:latest"},
			Architecture: arch,
			Annotations:  map[string]string{"org.opencontainers.image.title": "hello"},
			Layers: []image.Layer{{
				Entries:   []image.Entry{{Path: "/unikernel/kernel", Type: image.Regular, Executable: true, Data: []byte("kernel for " + arch)}},
				CreatedBy: "copy /unikernel/kernel",
			}},
		})
	}
	out := filepath.Join(dir, "hello")
	if err := image.WritePath(out, images, image.WithFormat(image.OCILayout), image.WithCompression(image.Gzip)); err != nil {
		log.Fatal(err)
	}
	// index.json names the image index, which lists the two manifests.
	index := show(filepath.Join(out, "index.json"))
	show(filepath.Join(out, "blobs", "sha256", strings.TrimPrefix(index.Manifests[0].Digest, "sha256:")))
	// Output:
	// {
	//   "schemaVersion": 2,
	//   "mediaType": "application/vnd.oci.image.index.v1+json",
	//   "manifests": [
	//     {
	//       "mediaType": "application/vnd.oci.image.index.v1+json",
	//       "size": 606,
	//       "digest": "sha256:40ada70fc36038e06d58b7261318b2c19b7248fad40f31894dd2ae7ad6427e23",
	//       "annotations": {
	//         "io.containerd.image.name": "docker.io/urunc/hello:latest",
	//         "org.opencontainers.image.ref.name": "urunc/hello:latest"
	//       }
	//     }
	//   ]
	// }
	// {
	//   "schemaVersion": 2,
	//   "mediaType": "application/vnd.oci.image.index.v1+json",
	//   "manifests": [
	//     {
	//       "mediaType": "application/vnd.oci.image.manifest.v1+json",
	//       "size": 516,
	//       "digest": "sha256:8776aa2a978eedfd44118e0eb7896ef2397ddf91b608e9ac36e17020f05fda98",
	//       "platform": {
	//         "architecture": "amd64",
	//         "os": "linux"
	//       }
	//     },
	//     {
	//       "mediaType": "application/vnd.oci.image.manifest.v1+json",
	//       "size": 516,
	//       "digest": "sha256:eb37410438d1ac08fa024d101107f1847e11635e60e65c44dcf198392308766e",
	//       "platform": {
	//         "architecture": "arm64",
	//         "os": "linux"
	//       }
	//     }
	//   ],
	//   "annotations": {
	//     "org.opencontainers.image.created": "1970-01-01T00:00:01Z",
	//     "org.opencontainers.image.title": "hello"
	//   }
	// }
}

// show prints the JSON file p, indented, and returns its descriptors.
func show(p string) (index struct{ Manifests []struct{ Digest string } }) {
	data, err := os.ReadFile(p)
	if err != nil {
		log.Fatal(err)
	}
	var out bytes.Buffer
	json.Indent(&out, data, "", "  ")
	fmt.Println(out.String())
	json.Unmarshal(data, &index)
	return index
}
