package rootfs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/image"
)

// writeExt plans and writes tree as fsType into a new file.
func writeExt(t *testing.T, tree []image.Entry, o ExtOptions) string {
	t.Helper()
	x, err := PlanExt(tree, o)
	if err != nil {
		t.Fatal(err)
	}
	return writePlanned(t, x)
}

// writePlanned writes the planned image x into a new file, checks that it
// is the size x says, and returns the file.
func writePlanned(t *testing.T, x *Ext) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fs."+x.fsType)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Write(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(p); fi.Size() != x.Size() {
		t.Errorf("image is %d bytes, Size says %d", fi.Size(), x.Size())
	}
	return p
}

// checkExt reads img back with e2fsprogs: e2fsck finds nothing to fix, and
// debugfs finds every file of dir, byte for byte, and every symlink, with
// owner 0:0, the fixed times and the image layers' modes.
func checkExt(t *testing.T, img, dir string) {
	t.Helper()
	tool(t, "e2fsck", "-fn", img)
	debugfs := func(req string) string { return tool(t, "debugfs", "-R", req, img) }
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		target := "/" + filepath.ToSlash(rel)
		if rel == "." {
			target = "/"
		}
		stat := debugfs("stat " + target)
		wantMode := "0644"
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			wantMode = "0777"
			link, _ := os.Readlink(p)
			if !strings.Contains(stat, `Fast link dest: "`+link+`"`) {
				if got := debugfs("cat " + target); got != link {
					t.Errorf("%s: symlink target %q, want %q\n%s", target, got, link, stat)
				}
			}
		case fi.IsDir() || fi.Mode()&0o100 != 0:
			wantMode = "0755"
		}
		for _, re := range []string{
			`Mode:  *` + wantMode + `\b`, `User: +0 +Group: +0`,
			`ctime: 0x6553f100(:00000000)? -- .*2023`, `atime: 0x6553f100`, `mtime: 0x6553f100`,
		} {
			if !regexp.MustCompile(re).MatchString(stat) {
				t.Errorf("%s: stat lacks %s:\n%s", target, re, stat)
			}
		}
		if strings.HasSuffix(img, ".ext4") && !strings.Contains(stat, "crtime: 0x6553f100:00000000") {
			t.Errorf("%s: crtime not fixed:\n%s", target, stat)
		}
		if fi.Mode().IsRegular() {
			want, _ := os.ReadFile(p)
			if got := debugfs("cat " + target); sum([]byte(got)) != sum(want) {
				t.Errorf("%s: debugfs cat gives %d bytes that differ from the %d of %s", target, len(got), len(want), p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	super := debugfs("stats")
	for _, re := range []string{`Filesystem created: +Tue Nov 14 22:13:20 2023`, `Last write time: +Tue Nov 14 22:13:20 2023`,
		`Last checked: +Tue Nov 14 22:13:20 2023`, `Last mount time: +n/a`} {
		if !regexp.MustCompile(re).MatchString(super) {
			t.Errorf("superblock lacks %s:\n%s", re, super[:min(len(super), 2000)])
		}
	}
}

func TestExt(t *testing.T) {
	t.Setenv("TZ", "UTC")
	dir := sample(t)
	tree := sampleTree(t, dir)
	for _, fs := range []string{"ext2", "ext4"} {
		t.Run(fs, func(t *testing.T) {
			img := writeExt(t, tree, ExtOptions{FSType: fs, MTime: mtime})
			checkExt(t, img, dir)
			again := writeExt(t, sampleTree(t, dir), ExtOptions{FSType: fs, MTime: mtime})
			if a, b := testenv.ReadFile(t, img), testenv.ReadFile(t, again); !bytes.Equal(a, b) {
				t.Error("two writes of the same tree differ")
			}
			kind, err := Detect(img)
			if err != nil || kind.String() != fs {
				t.Errorf("Detect = %v, %v; want %s", kind, err, fs)
			}
		})
	}
}

// TestExtManyGroups: a file system of several block groups, with
// superblock backups, and a file that crosses group boundaries.
func TestExtManyGroups(t *testing.T) {
	t.Setenv("TZ", "UTC")
	dir := sample(t)
	f, _ := os.Create(filepath.Join(dir, "huge"))
	f.WriteAt([]byte("start"), 0)
	f.WriteAt([]byte("middle"), 70<<20)
	f.WriteAt([]byte("end"), 140<<20)
	f.Close()
	for _, fs := range []string{"ext2", "ext4"} {
		t.Run(fs, func(t *testing.T) {
			img := writeExt(t, sampleTree(t, dir), ExtOptions{FSType: fs, MTime: mtime, Size: 1300 << 20})
			checkExt(t, img, dir)
			if out := tool(t, "dumpe2fs", img); strings.Count(out, "superblock at") != 6 {
				t.Errorf("want superblocks in groups 0 1 3 5 7 9:\n%s", out[:min(len(out), 3000)])
			}
		})
	}
}

// TestExtIndexedExtents: an ext4 file of more than four extents gets an
// extent tree of depth 1. Skipped with -short: it writes 640 MiB.
func TestExtIndexedExtents(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 640 MiB")
	}
	t.Setenv("TZ", "UTC")
	dir := t.TempDir()
	f, _ := os.Create(filepath.Join(dir, "huge"))
	f.WriteAt([]byte("end"), 620<<20)
	f.Close()
	img := writeExt(t, sampleTree(t, dir), ExtOptions{FSType: "ext4", MTime: mtime})
	checkExt(t, img, dir)
	if out := tool(t, "debugfs", "-R", "stat /huge", img); !strings.Contains(out, "(ETB0)") {
		t.Errorf("want a depth-1 extent tree:\n%s", out)
	}
}

func TestExtTooSmall(t *testing.T) {
	tree := sampleTree(t, sample(t))
	_, err := PlanExt(tree, ExtOptions{FSType: "ext2", Size: 2 << 20})
	var se *SizeError
	if !errors.As(err, &se) || se.Size != 2<<20 || se.Need <= 5<<20 || se.Need > 7<<20 {
		t.Fatalf("PlanExt of 2 MiB = %v, want a SizeError needing 5 to 7 MiB", err)
	}
	if x, err := PlanExt(tree, ExtOptions{FSType: "ext2", Size: se.Need}); err != nil || x.Size() != se.Need {
		t.Errorf("PlanExt of the size it said it needs: %v", err)
	}
	if _, err := PlanExt(tree, ExtOptions{FSType: "ext2", Size: se.Need - blockSize}); err == nil {
		t.Errorf("PlanExt of a block less than it said it needs succeeded")
	}
	if _, err := PlanExt([]image.Entry{{Path: "/lost+found", Type: image.Directory}}, ExtOptions{FSType: "ext4"}); err == nil || !strings.Contains(err.Error(), "made by the file system itself") {
		t.Errorf("a tree with /lost+found: %v", err)
	}
}

// TestIndirectCount checks ext2's block map on a file too large to write
// in a test: the indirect blocks it uses are the ones metaLen counts, and
// the map reaches every data block once.
func TestIndirectCount(t *testing.T) {
	x := &Ext{fsType: "ext2"}
	for _, blocks := range []uint32{0, 12, 13, 12 + 1024, 12 + 1024 + 1, 12 + 1024 + 1024*1024, 12 + 1024 + 1024*1024 + 5000} {
		n := &node{entry: image.Entry{Type: image.Regular}, data: []run{{100, blocks}}}
		need := x.metaLen(n)
		for i := uint32(0); i < need; i++ {
			n.meta = append(n.meta, 1<<30+i)
		}
		iblock := make([]byte, 60)
		ind := map[uint32][]byte{}
		err := x.mapBlocks(n, iblock, func(num uint32, b []byte) error {
			if ind[num] != nil {
				t.Errorf("%d blocks: indirect block %d written twice", blocks, num)
			}
			ind[num] = bytes.Clone(b)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		top := make([]byte, 60)
		x.mapBlocks(n, top, nil)
		if !bytes.Equal(top, iblock) {
			t.Errorf("%d blocks: i_block differs without emit", blocks)
		}
		if uint32(len(ind)) != need {
			t.Errorf("%d blocks: metaLen %d, mapBlocks used %d", blocks, need, len(ind))
		}
		seen := map[uint32]bool{}
		var walk func(b uint32, depth int)
		walk = func(b uint32, depth int) {
			if b == 0 {
				return
			}
			if depth == 0 {
				seen[b] = true
				return
			}
			for i := 0; i < pointersPerBlock; i++ {
				walk(binary.LittleEndian.Uint32(ind[b][4*i:]), depth-1)
			}
		}
		for i := 0; i < 15; i++ {
			walk(binary.LittleEndian.Uint32(iblock[4*i:]), max(0, i-11))
		}
		if uint32(len(seen)) != blocks {
			t.Errorf("%d blocks: the map reaches %d", blocks, len(seen))
		}
	}
}
