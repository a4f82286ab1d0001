package rootfs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nubificus/bunix/pkg/image"
)

// wantLimit checks that PlanExt refuses tree with a *LimitError naming
// path and saying want.
func wantLimit(t *testing.T, tree []image.Entry, o ExtOptions, path, want string) {
	t.Helper()
	_, err := PlanExt(tree, o)
	var le *LimitError
	if !errors.As(err, &le) || le.Path != path || !strings.Contains(err.Error(), want) {
		t.Errorf("PlanExt(%s) = %v, want a LimitError on %.60s saying %q", o.FSType, err, path, want)
	}
}

// TestExtAtTheLimits writes, on disk and through the writer, a name of 255
// bytes, a symlink target of 4095 bytes (the most symlink(2) makes) and a
// deep path, and checks the image with e2fsck and debugfs; one byte more
// of name or target is refused, naming the path.
func TestExtAtTheLimits(t *testing.T) {
	t.Setenv("TZ", "UTC")
	dir := t.TempDir()
	name255 := strings.Repeat("n", maxNameLen)
	deep := filepath.Join(dir, strings.Repeat("d/", 200), name255)
	if err := os.MkdirAll(filepath.Dir(deep), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(deep, []byte("deep\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name255), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	target := strings.Repeat("t/", maxSymlinkLen/2) + "t"
	if err := os.Symlink(target, filepath.Join(dir, "longest-link")); err != nil {
		t.Fatal(err)
	}
	tree := sampleTree(t, dir)
	for _, fs := range []string{"ext2", "ext4"} {
		t.Run(fs, func(t *testing.T) {
			o := ExtOptions{FSType: fs, MTime: mtime}
			checkExt(t, writeExt(t, tree, o), dir)

			long := "/" + name255 + "x"
			wantLimit(t, append(tree[:len(tree):len(tree)], image.Entry{Path: long, Type: image.Regular, Data: []byte("x")}), o, long, "256 bytes: an ext file name is at most 255")
			wantLimit(t, []image.Entry{{Path: "/l", Type: image.Symlink, Linkname: target + "x"}}, o, "/l", "4096 bytes: an ext symlink's is at most 4095")
			wantLimit(t, []image.Entry{{Path: "/l", Type: image.Symlink}}, o, "/l", "target is empty")
			wantLimit(t, []image.Entry{{Path: "/l", Type: image.Symlink, Linkname: "a\x00b"}}, o, "/l", "NUL")
			wantLimit(t, []image.Entry{{Path: "/a\x00b", Type: image.Regular}}, o, "/a\x00b", "NUL")
			wantLimit(t, []image.Entry{{Path: "/lost+found", Type: image.Directory}, {Path: "/lost+found/x", Type: image.Regular}}, o, "/lost+found", "made by the file system itself")
		})
	}
}

// TestExtLongNameMessage: the path in the message is cut, not echoed whole.
func TestExtLongNameMessage(t *testing.T) {
	p := "/" + strings.Repeat("x", 100000)
	_, err := PlanExt([]image.Entry{{Path: p, Type: image.Regular}}, ExtOptions{FSType: "ext4"})
	if err == nil || len(err.Error()) > 500 || !strings.Contains(err.Error(), "(100001 bytes)") {
		t.Errorf("PlanExt of a 100000-byte name: %.600v", err)
	}
}

// TestExtSubdirLinks: a directory's link count is 2 plus its
// subdirectories, at most 65000 without dir_nlink. At the limit e2fsck
// finds it right; one subdirectory more is refused. Skipped with -short:
// it writes two images of 65000 directories (about 260 MB each, 5 s).
func TestExtSubdirLinks(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 65000 directories")
	}
	tree := []image.Entry{{Path: "/d", Type: image.Directory}}
	for i := range maxLinks - 2 {
		tree = append(tree, image.Entry{Path: fmt.Sprintf("/d/%05d", i), Type: image.Directory})
	}
	for _, fs := range []string{"ext2", "ext4"} {
		t.Run(fs, func(t *testing.T) {
			o := ExtOptions{FSType: fs, MTime: mtime}
			img := writeExt(t, tree, o)
			tool(t, "e2fsck", "-fn", img)
			if out := tool(t, "debugfs", "-R", "stat /d", img); !strings.Contains(out, "Links: 65000") {
				t.Errorf("/d should have 65000 links:\n%.500s", out)
			}
			os.Remove(img)
			more := append(tree[:len(tree):len(tree)], image.Entry{Path: "/d/zzzzz", Type: image.Directory})
			wantLimit(t, more, o, "/d", "64999 subdirectories in one directory: an ext directory without dir_nlink has at most 64998")
		})
	}
}

// TestExtFileSizeLimit: ext2's largest file is what Linux's ext2_max_size
// gives for 4 KiB blocks (2 TiB less the block map); ext4's is what its
// one-level extent tree maps, four leaves of 340 extents. The plans need
// no memory or disk for the files' size; a byte more is refused.
func TestExtFileSizeLimit(t *testing.T) {
	// Linux's fs/ext2/super.c ext2_max_size(12), worked by hand: 2^29-1
	// blocks less 524801 of block map.
	if got, want := maxFileSize("ext2"), int64(536346110)*blockSize; got != want {
		t.Errorf("maxFileSize(ext2) = %d, want %d", got, want)
	}
	huge := func(size int64) []image.Entry {
		return []image.Entry{{Path: "/f", Type: image.Regular, Source: "/nonexistent", Size: size}}
	}
	o := ExtOptions{FSType: "ext2"}
	if x, err := PlanExt(huge(maxFileSize("ext2")), o); err != nil {
		t.Errorf("ext2 file at the limit: %v", err)
	} else if n := x.nodes[len(x.nodes)-1]; uint64(n.dataBlocks()+uint32(len(n.meta)))*8 > maxSectors {
		t.Errorf("ext2 file at the limit counts %d sectors", (n.dataBlocks()+uint32(len(n.meta)))*8)
	}
	wantLimit(t, huge(maxFileSize("ext2")+1), o, "/f", "an ext2 file of 4 KiB blocks without huge_file is at most 2196873666560")

	// ext4: the largest file whose extents the tree maps, found by
	// bisection over whole blocks, has four full leaves.
	o = ExtOptions{FSType: "ext4"}
	lo, hi := int64(1), maxFileSize("ext4")/blockSize
	for lo < hi {
		mid := lo + (hi-lo+1)/2
		if _, err := PlanExt(huge(mid*blockSize), o); err == nil {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	x, err := PlanExt(huge(lo*blockSize), o)
	if err != nil {
		t.Fatal(err)
	}
	n := x.nodes[len(x.nodes)-1]
	if len(n.meta) != maxExtentLeaves || len(n.extents()) != maxExtentLeaves*extentsPerBlock {
		t.Errorf("largest ext4 file (%d bytes): %d leaves, %d extents", lo*blockSize, len(n.meta), len(n.extents()))
	}
	wantLimit(t, huge(lo*blockSize+1), o, "/f", "extents here, more than the 1360")
	wantLimit(t, huge(maxFileSize("ext4")+1), o, "/f", "an ext4 file of 4 KiB blocks without huge_file is at most")
}

// TestExtMaxSize: a file system of just under 16 TiB plans (in no memory
// to speak of); 16 TiB is a *MaxSizeError, and so is content that needs
// more.
func TestExtMaxSize(t *testing.T) {
	const most = 1<<44 - 1
	x, err := PlanExt(nil, ExtOptions{FSType: "ext4", Size: most})
	if err != nil || x.Size() != most || x.blocks != maxBlocks {
		t.Fatalf("PlanExt of 16 TiB - 1: %v", err)
	}
	var me *MaxSizeError
	if _, err := PlanExt(nil, ExtOptions{FSType: "ext4", Size: most + 1}); !errors.As(err, &me) || me.Size != most+1 || me.Max != most {
		t.Errorf("PlanExt of 16 TiB = %v, want a MaxSizeError", err)
	}
	var tree []image.Entry
	for i := range 10 {
		tree = append(tree, image.Entry{Path: fmt.Sprintf("/f%d", i), Type: image.Regular, Source: "/nonexistent", Size: maxFileSize("ext2")})
	}
	if _, err := PlanExt(tree, ExtOptions{FSType: "ext2"}); !errors.As(err, &me) || me.Size != 0 || !strings.Contains(err.Error(), "the content needs a file system of more than") {
		t.Errorf("PlanExt of 20 TiB of content = %v, want a MaxSizeError", err)
	}
}

// TestExtDirSizeLimit: a directory's entries stay under 2 GiB, the most
// without large_dir; building a tree that large takes too much memory for
// a test, so the check is called at its edge.
func TestExtDirSizeLimit(t *testing.T) {
	if err := checkDirLen("/d", maxDirBlocks); err != nil {
		t.Errorf("a directory of %d blocks: %v", maxDirBlocks, err)
	}
	var le *LimitError
	if err := checkDirLen("/d", maxDirBlocks+1); !errors.As(err, &le) || !strings.Contains(err.Error(), "2147483648 bytes") {
		t.Errorf("a directory of 2 GiB: %v", err)
	}
}

// TestExtTimeLimit: times outside 1970 to 2038-01-19 are refused, not
// wrapped.
func TestExtTimeLimit(t *testing.T) {
	for _, tm := range []time.Time{time.Unix(-1, 0), time.Unix(1<<31, 0)} {
		if _, err := PlanExt(nil, ExtOptions{FSType: "ext2", MTime: tm}); err == nil || !strings.Contains(err.Error(), "32-bit") {
			t.Errorf("PlanExt at %v: %v", tm, err)
		}
	}
	if _, err := PlanExt(nil, ExtOptions{FSType: "ext2", MTime: time.Unix(1<<31-1, 0)}); err != nil {
		t.Errorf("PlanExt at the last 32-bit second: %v", err)
	}
}

// sparseFile makes a sparse file of size bytes at p with a few marks in
// it, and returns p.
func sparseFile(t *testing.T, p string, size int64) string {
	t.Helper()
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, off := range []int64{0, size / 3, size - 5} {
		if _, err := f.WriteAt([]byte("mark\n"), off); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// allocated returns the bytes of disk p takes.
func allocated(t *testing.T, p string) int64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Blocks * 512
}

// TestExtSparse: the holes of a sparse source stay holes in the image,
// whose bytes are the same; e2fsck and debugfs read the file back whole.
func TestExtSparse(t *testing.T) {
	t.Setenv("TZ", "UTC")
	dir := t.TempDir()
	sparseFile(t, filepath.Join(dir, "sparse"), 300<<20)
	for _, fs := range []string{"ext2", "ext4"} {
		img := writeExt(t, sampleTree(t, dir), ExtOptions{FSType: fs, MTime: mtime})
		if a := allocated(t, img); a > 16<<20 {
			t.Errorf("%s: the image of a 300 MiB sparse file takes %d bytes of disk", fs, a)
		}
		checkExt(t, img, dir)
	}
}

// TestExtLargestExt4File writes the largest file ext4's one-level extent
// tree maps (about 167 GiB, sparse: the source and the image take little
// disk) and checks it with e2fsck. Skipped with -short.
func TestExtLargestExt4File(t *testing.T) {
	if testing.Short() {
		t.Skip("checks a 170 GiB sparse image")
	}
	huge := func(size int64) []image.Entry {
		return []image.Entry{{Path: "/f", Type: image.Regular, Source: "/nonexistent", Size: size}}
	}
	lo, hi := int64(1), maxFileSize("ext4")/blockSize
	for lo < hi {
		mid := lo + (hi-lo+1)/2
		if _, err := PlanExt(huge(mid*blockSize), ExtOptions{FSType: "ext4"}); err == nil {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	dir := t.TempDir()
	src := sparseFile(t, filepath.Join(dir, "f"), lo*blockSize)
	img := writeExt(t, sampleTree(t, dir), ExtOptions{FSType: "ext4", MTime: mtime})
	if a := allocated(t, img); a > 64<<20 {
		t.Fatalf("the image takes %d bytes of disk", a)
	}
	tool(t, "e2fsck", "-fn", img)
	out := tool(t, "debugfs", "-R", "stat /f", img)
	if !strings.Contains(out, fmt.Sprintf("Size: %d", lo*blockSize)) || strings.Count(out, "(ETB0)") != maxExtentLeaves {
		t.Errorf("want /f of %d bytes in four extent leaves:\n%.1500s", lo*blockSize, out)
	}
	os.Remove(img)
	os.Remove(src)
}

// TestExtSourceChanged: a source that shrinks or grows between PlanExt and
// Write fails the write, saying which, whether the change falls in data or
// in a hole.
func TestExtSourceChanged(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(p string) error
		want   string
	}{
		{"shrank", func(p string) error { return os.Truncate(p, 1<<20) }, "shrank below 8388608 bytes"},
		{"shrank to nothing", func(p string) error { return os.Truncate(p, 0) }, "shrank below 8388608 bytes"},
		{"grew", func(p string) error { return os.Truncate(p, 9<<20) }, "grew past 8388608 bytes"},
	} {
		dir := t.TempDir()
		src := sparseFile(t, filepath.Join(dir, "f"), 8<<20)
		x, err := PlanExt(sampleTree(t, dir), ExtOptions{FSType: "ext4", MTime: mtime})
		if err != nil {
			t.Fatal(err)
		}
		if err := tc.change(src); err != nil {
			t.Fatal(err)
		}
		var img memImage
		if err := x.Write(&img); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Write = %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestInitrdSourceChanged: a source that grows or shrinks between the plan
// and WriteInitrd fails the write, saying which, as the ext writer does;
// before, a file that grew failed only with the cpio writer's "wrote M
// bytes of file instead of N".
func TestInitrdSourceChanged(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(p string) error
		want   string
	}{
		{"grew", func(p string) error { return os.Truncate(p, 9<<20) }, "grew past 8388608 bytes"},
		{"shrank", func(p string) error { return os.Truncate(p, 1<<20) }, "instead of 8388608 bytes"},
	} {
		dir := t.TempDir()
		src := sparseFile(t, filepath.Join(dir, "f"), 8<<20)
		tree := sampleTree(t, dir)
		if err := tc.change(src); err != nil {
			t.Fatal(err)
		}
		if err := WriteInitrd(io.Discard, tree, InitrdOptions{MTime: mtime}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: WriteInitrd = %v, want %q", tc.name, err, tc.want)
		}
	}
}
