package rootfs

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/image"
)

// sample writes a tree that exercises every kind of entry and layout case:
// executables, an empty file, fast and slow symlinks, a directory whose
// entries span several blocks, a deep path, and a file large enough for
// ext2's double indirect blocks. It returns the directory.
func sample(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	rng := rand.New(rand.NewSource(1))
	big := make([]byte, 5<<20+123)
	rng.Read(big)
	files := map[string][]byte{
		"init":             []byte("#!/bin/sh\necho hi\n"),
		"conf/redis.conf":  []byte("port 6379\n"),
		"empty":            nil,
		"big.bin":          big,
		"a/b/c/d/e/f/deep": []byte("deep\n"),
	}
	for i := 0; i < 300; i++ {
		files[fmt.Sprintf("many/file-with-a-longish-name-%03d", i)] = []byte(fmt.Sprint(i))
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(filepath.Join(dir, "init"), 0o700)
	os.Symlink("conf/redis.conf", filepath.Join(dir, "link"))
	os.Symlink(strings.Repeat("long/", 30)+"target", filepath.Join(dir, "longlink"))
	return dir
}

// sampleTree returns dir as a tree rooted at /.
func sampleTree(t *testing.T, dir string) []image.Entry {
	t.Helper()
	entries, err := image.FromPath(dir, "/")
	if err != nil {
		t.Fatal(err)
	}
	tree, err := Tree(entries)
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

var mtime = time.Unix(1700000000, 0)

// tool runs a tool and returns its standard output.
func tool(t *testing.T, name string, args ...string) string {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(testenv.Require(t, name), args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

func sum(b []byte) string { return fmt.Sprintf("%x", sha256.Sum256(b)) }

func TestTreeAddsParentsAndSorts(t *testing.T) {
	tree, err := Tree([]image.Entry{
		{Path: "/z", Type: image.Regular},
		{Path: "/a/b/c", Type: image.Regular},
		{Path: "/a.d/x", Type: image.Symlink, Linkname: "y"},
		{Path: "/", Type: image.Directory},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range tree {
		got = append(got, e.Path)
	}
	if want := "/a /a/b /a/b/c /a.d /a.d/x /z"; strings.Join(got, " ") != want {
		t.Errorf("Tree order = %v, want %s", got, want)
	}
	for _, bad := range [][]image.Entry{
		{{Path: "/x", Type: image.Regular}, {Path: "/x", Type: image.Symlink}},
		{{Path: "/x", Type: image.Regular}, {Path: "/x/y", Type: image.Regular}},
		{{Path: "x", Type: image.Regular}},
	} {
		if _, err := Tree(bad); err == nil {
			t.Errorf("Tree(%v) succeeded", bad)
		}
	}
}
