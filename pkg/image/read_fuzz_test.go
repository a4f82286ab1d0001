package image

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
)

// The fuzz targets take the members of an image file (index.json or
// manifest.json, a manifest, a config, a layer), small inputs the fuzzer
// mutates well, and assemble the file around them. In the JSON members,
// @layer, @config and @manifest stand for the digests of those members and
// @layersize, @configsize and @manifestsize for their sizes, so that
// mutations get past digest checks to the code behind them.

const (
	seedIndex    = `{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"@manifest","size":@manifestsize,"annotations":{"org.opencontainers.image.ref.name":"x:1"}}]}`
	seedManifest = `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"@config","size":@configsize},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"@layer","size":@layersize}]}`
	seedConfig   = `{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["@layer"]}}`
	seedDocker   = `[{"Config":"@config","RepoTags":["x:1"],"Layers":["@layer"]}]`
)

// member is a file of an assembled image.
type member struct {
	name string
	data []byte
}

// assemble makes the members of an OCI layout (or, if docker, of a
// docker-archive) from the fuzzed ones, filling in digests and sizes.
func assemble(docker bool, index, manifest, config, layer []byte) []member {
	digest := func(b []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(b)) }
	fill := func(b []byte, key string, of []byte) []byte {
		b = bytes.ReplaceAll(b, []byte("@"+key+"size"), fmt.Appendf(nil, "%d", len(of)))
		return bytes.ReplaceAll(b, []byte("@"+key), []byte(digest(of)))
	}
	blob := func(b []byte) string { return "blobs/sha256/" + strings.TrimPrefix(digest(b), "sha256:") }
	config = fill(config, "layer", layer)
	if docker {
		index = bytes.ReplaceAll(index, []byte("@config"), []byte("config.json"))
		index = bytes.ReplaceAll(index, []byte("@layer"), []byte("layer.tar"))
		return []member{{"manifest.json", index}, {"config.json", config}, {"layer.tar", layer}}
	}
	manifest = fill(fill(manifest, "layer", layer), "config", config)
	index = fill(index, "manifest", manifest)
	return []member{
		{"oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)}, {"index.json", index},
		{blob(manifest), manifest}, {blob(config), config}, {blob(layer), layer},
	}
}

// openAssembled assembles the members into an oci-archive (or, if docker,
// a docker-archive) and opens it.
func openAssembled(docker bool, index, manifest, config, layer []byte) (*File, error) {
	data := tarOf(assemble(docker, index, manifest, config, layer))
	return openArchive(bytes.NewReader(data), int64(len(data)), nil)
}

func tarOf(ms []member) []byte {
	var tms []testenv.TarMember
	for _, m := range ms {
		tms = append(tms, testenv.TarMember{Name: m.name, Data: m.data})
	}
	return testenv.TarOf(tms...)
}

func addSeeds(f *testing.F) {
	// The readers here only hash layers: a few bytes will do.
	layer := []byte("layer")
	f.Add(false, []byte(seedIndex), []byte(seedManifest), []byte(seedConfig), layer)
	f.Add(true, []byte(seedDocker), []byte(""), []byte(seedConfig), layer)
	f.Add(false, []byte(`{"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"@manifest","size":@manifestsize}]}`),
		[]byte(`{"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"@manifest","size":1}]}`), []byte{}, []byte{})
}

// readAllOf reads everything f offers, as inspect and push would.
func readAllOf(f *File) {
	for _, img := range f.Images {
		img.RawManifest()
		img.ConfigFile()
		layers, err := img.Layers()
		if err != nil {
			continue
		}
		for _, l := range layers {
			rc, err := l.Compressed()
			if err != nil {
				continue
			}
			io.Copy(io.Discard, rc)
			rc.Close()
		}
	}
	if f.Index != nil {
		f.Index.IndexManifest()
		f.Index.Digest()
	}
}

// FuzzOpenArchive assembles an oci-archive or a docker-archive tar from
// the fuzzed members, opens it and reads it all.
func FuzzOpenArchive(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, docker bool, index, manifest, config, layer []byte) {
		file, err := openAssembled(docker, index, manifest, config, layer)
		if err != nil {
			return
		}
		defer file.Close()
		if len(file.Images) == 0 || len(file.Names) != len(file.Images) {
			t.Fatalf("opened with %d images and %d name lists", len(file.Images), len(file.Names))
		}
		readAllOf(file)
		// What push makes of a docker-archive: its checks must not crash
		// or hang on what Open took; an image they pass has a manifest.
		if file.Format == DockerArchive {
			if img, err := DockerImage(context.Background(), file); err == nil {
				if _, err := img.RawManifest(); err != nil {
					t.Fatalf("DockerImage passed the archive, but its manifest: %v", err)
				}
			}
		}
	})
}

// FuzzOpenLayout writes a valid OCI layout, changes its tree as ops say,
// then opens it and reads it all. ops are lines "OP PATH [ARG]": rm PATH,
// ln PATH ARG (a symlink to ARG, which may lead anywhere), fifo PATH, dir
// PATH, or put PATH ARG (a file holding ARG); in PATH, @manifest, @config
// and @layer name those blobs. Paths are kept inside the layout; whatever
// the tree, Open must not block, escape it or crash.
func FuzzOpenLayout(f *testing.F) {
	f.Add("")
	f.Add("rm @layer\nln @layer /etc/passwd")
	f.Add("rm @config\nfifo @config")
	f.Add("rm index.json\nln index.json ../../../../etc/passwd")
	f.Add("rm blobs\nln blobs /")
	f.Add("rm @manifest\nput @manifest {}")
	f.Add("rm @layer\ndir @layer")
	f.Add("rm @layer\nln @layer @config")
	ms := assemble(false, []byte(seedIndex), []byte(seedManifest), []byte(seedConfig), []byte("layer"))
	names := strings.NewReplacer("@manifest", ms[2].name, "@config", ms[3].name, "@layer", ms[4].name)
	dir := filepath.Join(f.TempDir(), "layout")
	f.Fuzz(func(t *testing.T, ops string) {
		resetLayout(t, dir, ms)
		// The changes go through an os.Root too: a symlink made by one op
		// must not lead a later op out of the layout.
		root := openRoot(t, dir)
		for _, o := range layoutOps(ops, names) {
			switch o.op {
			case "rm":
				root.RemoveAll(o.name)
			case "ln":
				root.Symlink(names.Replace(o.arg), o.name)
			case "fifo":
				// os.Root makes no FIFO: make one only where no symlink
				// is on the way.
				if parentsAreDirs(dir, o.name) {
					syscall.Mkfifo(filepath.Join(dir, filepath.FromSlash(o.name)), 0o644)
				}
			case "dir":
				root.Mkdir(o.name, 0o755)
			case "put":
				root.WriteFile(o.name, []byte(o.arg), 0o644)
			}
		}
		file, err := Open(dir)
		if err != nil {
			return
		}
		defer file.Close()
		readAllOf(file)
	})
}

// resetLayout empties dir and writes the members ms into it: a valid OCI
// layout, for a fuzz target to change.
func resetLayout(t *testing.T, dir string, ms []member) {
	t.Helper()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if err := os.WriteFile(filepath.Join(dir, m.name), m.data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// openRoot opens dir as an os.Root, closed when t ends.
func openRoot(t *testing.T, dir string) *os.Root {
	t.Helper()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	return root
}

// layoutOp is one line "OP PATH [ARG]" of a fuzzed list of changes to a
// layout.
type layoutOp struct{ op, name, arg string }

// layoutOps parses ops, one change a line: in PATH, names replaces the
// placeholders, and PATH is made clean and relative, so that it stays
// inside the layout; a line with no PATH left is skipped. ARG is as
// written.
func layoutOps(ops string, names *strings.Replacer) []layoutOp {
	var out []layoutOp
	for _, line := range strings.Split(ops, "\n") {
		op, rest, _ := strings.Cut(line, " ")
		name, arg, _ := strings.Cut(rest, " ")
		name = strings.TrimPrefix(path.Clean("/"+names.Replace(name)), "/")
		if name == "" {
			continue
		}
		out = append(out, layoutOp{op, name, arg})
	}
	return out
}

// parentsAreDirs says whether every parent of name, inside dir, is a
// directory and not a symlink.
func parentsAreDirs(dir, name string) bool {
	p := dir
	parts := strings.Split(name, "/")
	for _, part := range parts[:len(parts)-1] {
		p = filepath.Join(p, part)
		fi, err := os.Lstat(p)
		if err != nil || !fi.IsDir() {
			return false
		}
	}
	return true
}

// FuzzIndexTar indexes bytes as a tar: every member indexed reads back
// exactly its size, in place.
func FuzzIndexTar(f *testing.F) {
	f.Add(tarOf([]member{{"index.json", []byte("{}")}})[:1024])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		size := int64(len(data))
		tf, err := indexTar(bytes.NewReader(data), size, nil)
		if err != nil {
			var bad *InvalidError
			if !errors.As(err, &bad) {
				t.Fatalf("not an *InvalidError: %v", err)
			}
			return
		}
		for name, s := range tf.files {
			rc, n, err := tf.open(name)
			if err != nil {
				if s.off+s.size <= size {
					t.Fatalf("%s: %v", name, err)
				}
				continue
			}
			got, err := io.Copy(io.Discard, rc)
			if err != nil || got != n || n != s.size {
				t.Fatalf("%s: read %d of %d: %v", name, got, n, err)
			}
		}
	})
}

// TestFuzzSeedsOpen: the seeds are images that open, so that the fuzzer
// starts from inputs that reach every reader.
func TestFuzzSeedsOpen(t *testing.T) {
	for _, docker := range []bool{false, true} {
		index := seedIndex
		if docker {
			index = seedDocker
		}
		f, err := openAssembled(docker, []byte(index), []byte(seedManifest), []byte(seedConfig), []byte("layer"))
		if err != nil {
			t.Fatalf("docker %v: %v", docker, err)
		}
		if _, err := f.Images[0].ConfigFile(); err != nil || len(f.Names[0]) != 1 {
			t.Errorf("docker %v: %v, names %q", docker, err, f.Names[0])
		}
	}
}
