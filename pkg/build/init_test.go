package build

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/image"
	"github.com/nubificus/bunix/pkg/rootfs"
)

// linuxArgs is a linux guest with process args proc (`"cmd":[...]` and
// the like) and rootfs.
func linuxArgs(proc, rootfs string) string {
	return `{"name":"x","files":{"kernel":"/unikernel/kernel"},` + proc + `,"annotations":{"unikernelType":"linux","hypervisor":"qemu","binary":"/unikernel/kernel"},"rootfs":` + rootfs + `}`
}

// TestLinuxInit: a Linux guest's init, its first process arg, must be a
// program in the rootfs bunix builds or reads, or the build stops naming
// the field, the path and the rootfs.
func TestLinuxInit(t *testing.T) {
	dir := files(t, "kernel", "r/init", "r/bin/app", "r/sbin/dir/x", "urunit")
	os.Symlink("../bin/app", filepath.Join(dir, "r/sbin/app"))
	os.Symlink("nowhere", filepath.Join(dir, "r/sbin/dangling"))
	// A prebuilt newc initrd holding /init only.
	f, _ := os.Create(filepath.Join(dir, "pre.cpio"))
	rootfs.WriteInitrd(f, []image.Entry{{Path: "/init", Type: image.Regular, Data: []byte("i"), Size: 1}}, rootfs.InitrdOptions{})
	f.Close()
	for _, tc := range []struct{ proc, rootfs, want string }{
		{`"cmd":["/init","a"]`, `{"type":"initrd","include":{"r":"/"}}`, ""},
		{`"cmd":["/sbin/app"]`, `{"type":"initrd","include":{"r":"/"}}`, ""},
		{`"entrypoint":["init"]`, `{"type":"initrd","include":{"r":"/"}}`, ""},
		{`"cmd":["/init"]`, `{"type":"initrd","from":"pre.cpio"}`, ""},
		{`"cmd":["/init"]`, `{"type":"block","include":{"r":"/"}}`, ""},
		{`"cmd":["/init"]`, `{"type":"block","include":{"r/bin":"/bin"},"mountPoint":"/data"}`, ""}, // not the rootfs
		{`"cmd":["/sbin/init"]`, `{"type":"initrd","include":{"r":"/"}}`,
			`cmd[0] = "/sbin/init": the linux guest's init /sbin/init is not in its rootfs, the initrd bunix builds from rootfs.include`},
		{`"entrypoint":["/app"],"cmd":["x"]`, `{"type":"block","include":{"r":"/"}}`,
			`entrypoint[0] = "/app": the linux guest's init /app is not in its rootfs, the block bunix builds from rootfs.include`},
		{`"annotations_cmdline":1`, `{"type":"initrd","include":{"r/bin":"/bin"}}`,
			`annotations.cmdline = "/init": the linux guest's init /init is not in its rootfs`},
		{`"cmd":["/sbin/dir"]`, `{"type":"initrd","include":{"r":"/"}}`, `the linux guest's init /sbin/dir is a directory in its rootfs`},
		{`"cmd":["/sbin/dangling"]`, `{"type":"initrd","include":{"r":"/"}}`, `init /sbin/dangling is not in its rootfs`},
		{`"cmd":["/sbin/init"]`, `{"type":"initrd","from":"pre.cpio"}`, `init /sbin/init is not in its rootfs, the prebuilt initrd "` + dir + `/pre.cpio" (rootfs.from)`},
		{`"cmd":["/bin/sh"]`, `{"type":"raw","include":{"r/bin":"/bin"}}`, `init /bin/sh is not in its rootfs, the image's own files`},
		{`"cmd":["/bin/app"]`, `{"type":"raw","include":{"r/bin":"/bin"}}`, ""},
		{`"urunit":"urunit","cmd":["/bin/app","x"]`, `{"type":"initrd","include":{"r":"/"}}`, ""},
		{`"urunit":"urunit","cmd":["/bin/nope"]`, `{"type":"initrd","include":{"r":"/"}}`,
			`cmd[0] = "/bin/nope": the linux guest's program urunit runs, /bin/nope is not in its rootfs, the initrd bunix builds`},
		{`"urunit":"urunit","entrypoint":["/sbin/dir"],"cmd":["-v"]`, `{"type":"initrd","include":{"r":"/"}}`,
			`entrypoint[0] = "/sbin/dir": the linux guest's program urunit runs, /sbin/dir is a directory`},
	} {
		js := linuxArgs(tc.proc, tc.rootfs)
		if tc.proc == `"annotations_cmdline":1` {
			js = strings.Replace(linuxArgs(`"tag":"t"`, tc.rootfs), `"binary"`, `"cmdline":"/init a","binary"`, 1)
		}
		_, err := Image(resolved(t, dir, js))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s %s: %v", tc.proc, tc.rootfs, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !args.IsUserError(err)):
			t.Errorf("%s %s: err = %v\nwant %s", tc.proc, tc.rootfs, err, tc.want)
		}
	}
}

// TestCorruptPrebuiltInitrd: a prebuilt initrd that starts as a newc
// archive but is cut short, or whose record claims more data or a longer
// name than the file holds, is refused naming rootfs.from, rather than
// packaged with its init unchecked; one that ends at a record without a
// trailer, or in zero padding, is read as the kernel reads it.
func TestCorruptPrebuiltInitrd(t *testing.T) {
	dir := files(t, "kernel")
	var good bytes.Buffer
	rootfs.WriteInitrd(&good, []image.Entry{{Path: "/init", Type: image.Regular, Data: []byte("i"), Size: 1}}, rootfs.InitrdOptions{})
	trailer := bytes.LastIndex(good.Bytes(), []byte("070701"))
	hdr := func(size, nameLen int) string {
		return "070701" + fmt.Sprintf("%08X%08X", 1, 0o100644) + strings.Repeat("0", 32) + fmt.Sprintf("%08X", size) + strings.Repeat("0", 32) + fmt.Sprintf("%08X", nameLen) + "00000000"
	}
	for name, tc := range map[string]struct {
		data string
		want string
	}{
		"magic only":      {"070701", "the file ends at 6 bytes, inside the 110-byte header of the record at 0"},
		"cut in its data": {good.String()[:trailer-3], "the file ends at 117 bytes, inside the 110-byte header of the record at 120"},
		"huge name":       {hdr(1, 0xFFFFFFF0) + "x", "name of 4294967280 bytes"},
		"huge size":       {hdr(0xFFFFFFFF, 5) + "init\x00", "4294967295 bytes of data, past the end"},
		"no trailer":      {good.String()[:trailer], ""},
		"zero padding":    {good.String()[:trailer] + strings.Repeat("\x00", 512), ""},
		"whole":           {good.String(), ""},
	} {
		if err := os.WriteFile(filepath.Join(dir, "pre.cpio"), []byte(tc.data), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Image(resolved(t, dir, linuxArgs(`"cmd":["/init"]`, `{"type":"initrd","from":"pre.cpio"}`)))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case tc.want != "" && (err == nil || !args.IsUserError(err) || !strings.Contains(err.Error(), "rootfs.from") || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: err = %v\nwant a user error naming rootfs.from and %q", name, err, tc.want)
		}
	}
}

// TestLookUp follows symlinks, relative and absolute, through directories.
func TestLookUp(t *testing.T) {
	fs := treeView([]image.Entry{
		{Path: "/bin", Type: image.Directory}, {Path: "/bin/busybox", Type: image.Regular},
		{Path: "/sbin", Type: image.Symlink, Linkname: "bin"}, {Path: "/bin/init", Type: image.Symlink, Linkname: "/bin/busybox"},
		{Path: "/loop", Type: image.Symlink, Linkname: "loop"}, {Path: "/f", Type: image.Regular},
	})
	for p, want := range map[string]bool{"/sbin/init": true, "/bin/init": true, "/sbin/busybox": true, "/loop": false, "/f/x": false, "/nope": false} {
		typ, ok := lookUp(fs, p)
		if ok != want || ok && typ != image.Regular {
			t.Errorf("lookUp(%s) = %v, %v", p, typ, ok)
		}
	}
}

// FuzzNewcEntries: newcEntries never panics nor allocates past its bounds
// on any input, and reads back what rootfs.WriteInitrd writes.
func FuzzNewcEntries(f *testing.F) {
	var buf bytes.Buffer
	rootfs.WriteInitrd(&buf, []image.Entry{
		{Path: "/bin", Type: image.Directory}, {Path: "/bin/app", Type: image.Regular, Data: []byte("app"), Size: 3},
		{Path: "/init", Type: image.Symlink, Linkname: "bin/app"},
	}, rootfs.InitrdOptions{})
	f.Add(buf.Bytes())
	f.Add([]byte("070701" + strings.Repeat("F", 104)))
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := newcEntries(io.NewSectionReader(bytes.NewReader(b), 0, int64(len(b))))
		if err != nil {
			return
		}
		if typ, ok := lookUp(treeView(entries), "/init"); bytes.Equal(b, buf.Bytes()) && (!ok || typ != image.Regular) {
			t.Errorf("/init in the archive WriteInitrd wrote: %v %v", typ, ok)
		}
	})
}
