package build

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/rootfs"
	"github.com/u-root/u-root/pkg/cpio"
)

func withRootfs(rootfs string) string {
	return `{"name":"x","files":{"kernel":"/unikernel/kernel"},` + ann + `,"rootfs":` + rootfs + `}`
}

func TestImageInitrd(t *testing.T) {
	dir := files(t, "kernel", "r/init", "r/etc/conf")
	img, err := Image(resolved(t, dir, withRootfs(`{"type":"initrd","include":{"r":"/"}}`)))
	if err != nil {
		t.Fatal(err)
	}
	if got := layerSteps(img); got != "bunix: copy /unikernel/kernel, bunix: rootfs /unikernel/rootfs.cpio, bunix: urunc settings /urunc.json" {
		t.Errorf("layers: %s", got)
	}
	e := img.Layers[1].Entries[0]
	if e.Path != "/unikernel/rootfs.cpio" || !strings.HasPrefix(e.Source, "/proc/self/fd/") {
		t.Errorf("rootfs entry %+v", e)
	}
	if kind, err := rootfs.Detect(e.Source); kind != rootfs.CPIO || err != nil {
		t.Errorf("Detect = %v, %v", kind, err)
	}
	if fi, err := os.Stat(e.Source); err != nil || fi.Size() != e.Size {
		t.Errorf("entry size %d, file %v %v", e.Size, fi, err)
	}
}

func TestImageRootfsErrors(t *testing.T) {
	dir := files(t, "kernel", "conf", "dir/x")
	os.WriteFile(filepath.Join(dir, "fs.cpio"), []byte("070701 not really"), 0o644)
	for _, tc := range []struct{ rootfs, want string }{
		{`{"type":"initrd","include":{"nope":"/n"}}`, `rootfs.include."nope" = "` + dir + `/nope": source does not exist`},
		{`{"type":"initrd","include":{"conf":"/"}}`, `rootfs.include."conf" = "` + dir + `/conf": is a file, which cannot be the rootfs's root`},
		{`{"type":"initrd","include":{"conf":"/x","dir":"/"}}`, `rootfs.include."dir" = "` + dir + `/dir": puts a file at /x, where rootfs.include."conf" already puts a file`},
		{`{"type":"initrd","include":{"conf":"/c"},"path":"/unikernel/kernel"}`, `rootfs.path = "/unikernel/kernel": the rootfs file would go where files."kernel" already puts a file`},
		{`{"type":"initrd","include":{"conf":"/c"},"path":"/unikernel/kernel/rootfs"}`, `needs /unikernel/kernel to be a directory, but files."kernel" puts a file there`},
		{`{"type":"initrd","from":"conf"}`, `rootfs.from = "` + dir + `/conf": ` + dir + `/conf is neither a cpio archive`},
		{`{"type":"initrd","from":"dir"}`, `rootfs.from = "` + dir + `/dir": is a directory: a prebuilt rootfs is one file`},
		{`{"type":"initrd","from":"missing.cpio"}`, `rootfs.from = "` + dir + `/missing.cpio": source does not exist`},
	} {
		_, err := Image(resolved(t, dir, withRootfs(tc.rootfs)))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !args.IsUserError(err) {
			t.Errorf("%s: got %v\nwant %s", tc.rootfs, err, tc.want)
		}
	}
	// A prebuilt initrd is packaged as it is, at its path.
	img, err := Image(resolved(t, dir, withRootfs(`{"type":"initrd","from":"fs.cpio"}`)))
	if err != nil {
		t.Fatal(err)
	}
	if e := img.Layers[1].Entries[0]; e.Source != filepath.Join(dir, "fs.cpio") || e.Path != "/unikernel/rootfs.cpio" {
		t.Errorf("prebuilt rootfs entry %+v", e)
	}
}

// TestDirClashOnce: a copy that puts a directory where another puts a
// file is told so once, not again for each path it would put under that
// directory; a copy that needs the directory without putting it there is
// told it needs it.
func TestDirClashOnce(t *testing.T) {
	dir := files(t, "kernel", "conf", "tree/etc/hosts", "tree/etc/hostname")
	withRootfs := func(rootfs string) string {
		return strings.Replace(withRootfs(rootfs), `"unikraft"`, `"linux"`, 1)
	}
	for _, typ := range []string{"block", "initrd"} {
		_, err := Image(resolved(t, dir, withRootfs(`{"type":"`+typ+`","include":{"conf":"/etc","tree":"/"}}`)))
		want := `rootfs.include."tree" = "` + dir + `/tree": puts a directory at /etc, where rootfs.include."conf" already puts a file`
		if err == nil || strings.Count(err.Error(), want) != 1 || strings.Contains(err.Error(), "needs /etc to be a directory") {
			t.Errorf("%s: got %v\nwant %q, once, alone", typ, err, want)
		}
		_, err = Image(resolved(t, dir, withRootfs(`{"type":"`+typ+`","include":{"conf":"/etc","tree/etc/hosts":"/etc/hosts"}}`)))
		want = `rootfs.include."tree/etc/hosts" = "/etc/hosts": needs /etc to be a directory, but rootfs.include."conf" puts a file there`
		if err == nil || strings.Count(err.Error(), want) != 1 {
			t.Errorf("%s: got %v\nwant %q", typ, err, want)
		}
	}
}

func TestImageBlockTooSmall(t *testing.T) {
	dir := files(t, "kernel", "conf")
	js := `{"name":"x","files":{"kernel":"/k"},"annotations":{"unikernelType":"linux","hypervisor":"qemu","binary":"/k"},
		"rootfs":{"type":"block","include":{"conf":"/conf"},"size":"16K"}}`
	_, err := Image(resolved(t, dir, js))
	if err == nil || !strings.Contains(err.Error(), `args.json: rootfs.size = 16384: too small for the content: the ext4 image needs at least`) {
		t.Errorf("got %v", err)
	}
}

// TestLinuxInitrdEtc: every Linux initrd bunix builds holds /etc (the
// kernel drops the /etc/hosts urunc appends when there is none); a file at
// /etc is refused; other guests' initrds get nothing added.
func TestLinuxInitrdEtc(t *testing.T) {
	dir := files(t, "kernel", "init", "etc")
	linux := func(rootfs string) string {
		return `{"name":"x","files":{"kernel":"/unikernel/kernel"},"cmd":["/init"],"annotations":{"unikernelType":"linux","hypervisor":"qemu","binary":"/unikernel/kernel"},"rootfs":` + rootfs + `}`
	}
	names := func(js string) []string {
		img, err := Image(resolved(t, dir, js))
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(img.Layers[1].Entries[0].Source)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(f))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range recs {
			out = append(out, r.Name)
		}
		return out
	}
	if got := names(linux(`{"type":"initrd","include":{"init":"/init"}}`)); !slices.Contains(got, "etc") {
		t.Errorf("linux initrd: %q, want etc in it", got)
	}
	if got := names(withRootfs(`{"type":"initrd","include":{"init":"/init"}}`)); slices.Contains(got, "etc") {
		t.Errorf("unikraft initrd: %q, want no etc added", got)
	}
	_, err := Image(resolved(t, dir, linux(`{"type":"initrd","include":{"init":"/init","etc":"/etc"}}`)))
	if err == nil || !strings.Contains(err.Error(), `rootfs.include."etc" = "/etc": puts a file at /etc, which a Linux initrd needs as a directory`) {
		t.Errorf("a file at /etc: %v", err)
	}
}

// TestUnikraftGzipPrebuilt: a gzipped prebuilt initrd is refused for a
// unikraft guest, taken as it is for a linux one.
func TestUnikraftGzipPrebuilt(t *testing.T) {
	dir := files(t, "kernel", "init")
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte("070701" + strings.Repeat("0", 104)))
	zw.Close()
	os.WriteFile(filepath.Join(dir, "fs.cpio.gz"), buf.Bytes(), 0o644)
	_, err := Image(resolved(t, dir, withRootfs(`{"type":"initrd","from":"fs.cpio.gz"}`)))
	if err == nil || !strings.Contains(err.Error(), `rootfs.from = "`+dir+`/fs.cpio.gz": is a gzip-compressed cpio archive: a unikraft guest reads only an uncompressed newc initrd`) || !args.IsUserError(err) {
		t.Errorf("unikraft: %v", err)
	}
	if _, err := Image(resolved(t, dir, `{"name":"x","files":{"kernel":"/unikernel/kernel"},"cmd":["/init"],"annotations":{"unikernelType":"linux","hypervisor":"qemu","binary":"/unikernel/kernel"},"rootfs":{"type":"initrd","from":"fs.cpio.gz"}}`)); err != nil {
		t.Errorf("linux: %v", err)
	}
}
