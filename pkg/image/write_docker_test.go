package image

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"github.com/nubificus/bunix/internal/testenv"
)

// tree writes files (path -> contents; a trailing "*" in the path makes it
// executable, "@target" as contents makes a symlink) under a new directory,
// in the given order.
func tree(t *testing.T, files [][2]string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		name, data := f[0], f[1]
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, "*") {
			name, mode = strings.TrimSuffix(name, "*"), 0o755
		}
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if strings.HasPrefix(data, "@") {
			err = os.Symlink(data[1:], p)
		} else {
			err = os.WriteFile(p, []byte(data), mode)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// fromPath is FromPath(source, target), failing the test on an error.
func fromPath(t *testing.T, source, target string) []Entry {
	t.Helper()
	entries, err := FromPath(source, target)
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

func sampleImage(t *testing.T, dir string) *Image {
	t.Helper()
	kernel := fromPath(t, filepath.Join(dir, "kernel"), "/unikernel/kernel")
	conf := fromPath(t, filepath.Join(dir, "conf"), "/data/conf")
	return &Image{
		RepoTags:     []string{"urunc/test:v1"},
		Architecture: "amd64",
		Config:       v1.Config{Cmd: []string{"app", "-v"}, Labels: map[string]string{"k": "v"}},
		Layers: []Layer{
			{Entries: conf, CreatedBy: "copy /data/conf"},
			{Entries: kernel, CreatedBy: "copy /unikernel/kernel"},
			{Entries: []Entry{{Path: "/urunc.json", Type: Regular, Data: []byte(`{"a":"b"}`)}}, CreatedBy: "settings"},
		},
	}
}

var sampleFiles = [][2]string{
	{"kernel*", "\x7fELF pretend kernel"},
	{"conf/redis.conf", "port 6379\n"},
	{"conf/sub/b", strings.Repeat("b", 513)},
	{"conf/sub/a", ""},
	{"conf/link", "@redis.conf"},
}

func write(t *testing.T, img *Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := img.WriteDockerArchive(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sampleLayers lists the layers of sampleImage as checkImage reads them.
var sampleLayers = [][]string{
	{"drwxr-xr-x data/", "drwxr-xr-x data/conf/", "Lrwxrwxrwx data/conf/link -> redis.conf", "-rw-r--r-- data/conf/redis.conf 10",
		"drwxr-xr-x data/conf/sub/", "-rw-r--r-- data/conf/sub/a 0", "-rw-r--r-- data/conf/sub/b 513"},
	{"drwxr-xr-x unikernel/", "-rwxr-xr-x unikernel/kernel 19"},
	{"-rw-r--r-- urunc.json 9"},
}

// checkImage checks img, as an independent reader sees it, against
// sampleImage: ggcr's validate checks the config and manifest, and each
// layer's blob and tar must hash to the digest and diffID given for it (ggcr's
// validate reads gzip layers only); the config must be sampleImage's; each
// layer must list want.
func checkImage(t *testing.T, img v1.Image, want [][]string) {
	t.Helper()
	if err := validate.Image(img, validate.Fast); err != nil {
		t.Fatalf("validate.Image: %v", err)
	}
	checkLayerDigests(t, img)
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OS != "linux" || cfg.Architecture != "amd64" || !cfg.Created.Equal(DefaultCreated) ||
		fmt.Sprint(cfg.Config.Cmd) != "[app -v]" || cfg.Config.Labels["k"] != "v" || len(cfg.History) != 3 {
		t.Errorf("config = %+v", cfg)
	}
	raw, _ := img.RawConfigFile()
	if !bytes.Contains(raw, []byte(`"created":"1970-01-01T00:00:01Z"`)) {
		t.Errorf("config does not carry the fixed UTC time: %s", raw)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != len(want) {
		t.Fatalf("%d layers, want %d", len(layers), len(want))
	}
	for i, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		got := listLayer(t, rc)
		rc.Close()
		if strings.Join(got, "\n") != strings.Join(want[i], "\n") {
			t.Errorf("layer %d:\n%s\nwant\n%s", i, strings.Join(got, "\n"), strings.Join(want[i], "\n"))
		}
	}
}

// checkLayerDigests checks that each layer of img has the digest and size
// its manifest gives, and the diffID its config gives.
func checkLayerDigests(t *testing.T, img v1.Image) {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != len(m.Layers) || len(layers) != len(cfg.RootFS.DiffIDs) {
		t.Fatalf("%d layers, %d in the manifest, %d diffIDs", len(layers), len(m.Layers), len(cfg.RootFS.DiffIDs))
	}
	for i, l := range layers {
		for _, c := range []struct {
			open func() (io.ReadCloser, error)
			want v1.Hash
			size int64
		}{{l.Compressed, m.Layers[i].Digest, m.Layers[i].Size}, {l.Uncompressed, cfg.RootFS.DiffIDs[i], -1}} {
			rc, err := c.open()
			if err != nil {
				t.Fatal(err)
			}
			h, n, err := v1.SHA256(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			if h != c.want || (c.size >= 0 && n != c.size) {
				t.Errorf("layer %d: %d bytes hashing to %s, want %s (%d bytes)", i, n, h, c.want, c.size)
			}
		}
	}
}

// listLayer lists a layer tar, one line per entry, and checks that every
// entry is owned by 0:0 and has the fixed mtime.
func listLayer(t *testing.T, r io.Reader) []string {
	t.Helper()
	var got []string
	testenv.WalkTar(t, r, func(hdr *tar.Header, _ io.Reader) {
		if hdr.Uid != 0 || hdr.Gid != 0 || hdr.Uname != "" || hdr.Gname != "" || !hdr.ModTime.Equal(DefaultCreated) {
			t.Errorf("%s: owner %d:%d (%q:%q), mtime %v", hdr.Name, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname, hdr.ModTime)
		}
		s := hdr.FileInfo().Mode().String() + " " + hdr.Name
		switch hdr.Typeflag {
		case tar.TypeSymlink:
			s += " -> " + hdr.Linkname
		case tar.TypeReg:
			s += fmt.Sprint(" ", hdr.Size)
		}
		got = append(got, s)
	})
	return got
}

func TestWriteDockerArchiveReadsBack(t *testing.T) {
	data := write(t, sampleImage(t, tree(t, sampleFiles)))

	// ggcr's own reader is the independent judge of the format.
	opener := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	m, err := tarball.LoadManifest(opener)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 1 || fmt.Sprint(m[0].RepoTags) != "[urunc/test:v1]" {
		t.Fatalf("manifest = %+v", m)
	}
	img, err := tarball.Image(opener, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkImage(t, img, sampleLayers)
	// The archive's own entries are normalized too.
	var names []string
	testenv.WalkTar(t, bytes.NewReader(data), func(hdr *tar.Header, _ io.Reader) {
		if hdr.Mode != 0o644 || hdr.Uid != 0 || !hdr.ModTime.Equal(DefaultCreated) {
			t.Errorf("archive entry %s: mode %o uid %d mtime %v", hdr.Name, hdr.Mode, hdr.Uid, hdr.ModTime)
		}
		names = append(names, hdr.Name)
	})
	if names[len(names)-1] != "manifest.json" || names[0] != "layer-000.tar" {
		t.Errorf("archive entries %v", names)
	}
}

// otherTree writes sampleFiles again, in reverse order, under umask 077,
// and gives them other mtimes: none of that may show in an image.
func otherTree(t *testing.T) string {
	t.Helper()
	old := syscall.Umask(0o077)
	reversed := make([][2]string, len(sampleFiles))
	for i, f := range sampleFiles {
		reversed[len(sampleFiles)-1-i] = f
	}
	dir := tree(t, reversed)
	syscall.Umask(old)
	if fi, _ := os.Stat(filepath.Join(dir, "kernel")); fi.Mode().Perm() != 0o700 {
		t.Fatalf("umask did not apply: %v", fi.Mode())
	}
	stamp := time.Date(2024, 2, 3, 4, 5, 6, 7, time.FixedZone("X", 3600))
	filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error { return os.Chtimes(p, stamp, stamp) })
	return dir
}

// TestWriteIsReproducible builds the same tree twice under a different
// umask, in a different directory, in a different creation order, with
// different mtimes and TZ: the bytes must not change.
func TestWriteIsReproducible(t *testing.T) {
	first := write(t, sampleImage(t, tree(t, sampleFiles)))

	dir := otherTree(t)
	t.Setenv("TZ", "Pacific/Kiritimati")
	second := write(t, sampleImage(t, dir))
	if !bytes.Equal(first, second) {
		t.Fatal("two builds of the same files differ")
	}

	img := sampleImage(t, dir)
	img.Created = time.Unix(1700000000, 5).In(time.FixedZone("Y", -7200))
	third := write(t, img)
	if bytes.Equal(first, third) {
		t.Fatal("Created does not change the bytes")
	}
	if !bytes.Contains(third, []byte(`"created":"2023-11-14T22:13:20Z"`)) {
		t.Error("Created is not written in UTC, to the second")
	}
}

func TestWriteDetectsChangedSources(t *testing.T) {
	dir := tree(t, sampleFiles)
	for _, tc := range []struct {
		name, data, want string
	}{
		{"shrank", "short", "the file shrank from 19 to 5 bytes"},
		{"grew", strings.Repeat("x", 100), "the file grew past 19 bytes"},
	} {
		img := sampleImage(t, dir)
		if err := os.WriteFile(filepath.Join(dir, "kernel"), []byte(tc.data), 0o755); err != nil {
			t.Fatal(err)
		}
		err := img.WriteDockerArchive(io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
		os.WriteFile(filepath.Join(dir, "kernel"), []byte(sampleFiles[0][1]), 0o755)
	}
}

func TestLayerConflicts(t *testing.T) {
	for _, tc := range []struct {
		entries []Entry
		want    string
	}{
		{[]Entry{{Path: "/a", Type: Regular}, {Path: "/a/b", Type: Regular}}, "/a is a file, but /a/b needs it to be a directory"},
		{[]Entry{{Path: "/a", Type: Regular}, {Path: "/a", Type: Symlink}}, "/a is given twice"},
		{[]Entry{{Path: "a", Type: Regular}}, `entry path "a" must be absolute`},
		{[]Entry{{Path: "/a/../b", Type: Regular}}, "must be absolute, clean"},
	} {
		_, err := planLayer(Layer{Entries: tc.entries}, DefaultCreated)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("planLayer(%+v) = %v, want %q", tc.entries, err, tc.want)
		}
	}
}

// TestHugeFileHeader plans a layer holding a file over 8 GiB, the limit of
// a plain ustar header: the header must become PAX and the size must count
// it, without writing any content.
func TestHugeFileHeader(t *testing.T) {
	const size = 9 << 30
	p, err := planLayer(Layer{Entries: []Entry{{Path: "/big", Type: Regular, Source: "/nonexistent", Size: size}}}, DefaultCreated)
	if err != nil {
		t.Fatal(err)
	}
	hdr, err := p.header(nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hdr) <= blockSize {
		t.Fatalf("header is %d bytes: no extended header for a %d-byte file", len(hdr), size)
	}
	h, err := tar.NewReader(bytes.NewReader(append(hdr, make([]byte, 1024)...))).Next()
	if err != nil {
		t.Fatal(err)
	}
	if h.Size != size || h.Format != tar.FormatPAX {
		t.Errorf("decoded size %d format %v", h.Size, h.Format)
	}
	if want := int64(len(hdr)) + size + 2*blockSize; p.size != want {
		t.Errorf("layer size %d, want %d", p.size, want)
	}
}

func TestFromPath(t *testing.T) {
	dir := tree(t, sampleFiles)
	if err := os.Symlink(filepath.Join(dir, "conf"), filepath.Join(dir, "conflink")); err != nil {
		t.Fatal(err)
	}
	viaLink := fromPath(t, filepath.Join(dir, "conflink"), "/c")
	direct := fromPath(t, filepath.Join(dir, "conf"), "/c")
	a, _ := json.Marshal(viaLink)
	b, _ := json.Marshal(direct)
	if !bytes.Equal(a, b) || len(direct) != 6 {
		t.Errorf("a symlink to a directory is not followed at the top:\n%s\n%s", a, b)
	}
	if _, err := FromPath(filepath.Join(dir, "missing"), "/m"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing source: %v", err)
	}
	fifo := filepath.Join(dir, "conf", "fifo")
	testenv.Mkfifo(t, fifo)
	if _, err := FromPath(filepath.Join(dir, "conf"), "/c"); err == nil || !strings.Contains(err.Error(), "unsupported file type") {
		t.Errorf("fifo: %v", err)
	}
}
