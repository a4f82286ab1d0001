package build

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nubificus/bunix/pkg/args"
)

// TestImageRootfsLimits: what the rootfs cannot hold is a user error on
// the field that asks for it, before anything is written.
func TestImageRootfsLimits(t *testing.T) {
	dir := files(t, "kernel", "conf", "lf/x")
	f, err := os.Create(filepath.Join(dir, "sparse"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(4 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	long := "/" + strings.Repeat("n", 256)
	deep := strings.Repeat("/d", 2048) + "x" // 4096 bytes without the leading /
	for _, tc := range []struct{ rootfs, want string }{
		{`{"type":"block","include":{"lf":"/lost+found"}}`, `rootfs.include."lf" = "` + dir + `/lf": rootfs path "/lost+found": /lost+found is made by the file system itself`},
		{`{"type":"block","include":{"conf":"` + long + `"}}`, `rootfs.include."conf" = "` + dir + `/conf": rootfs path "/nnnn`},
		{`{"type":"block","include":{"conf":"` + long + `/x"}}`, `its name is 256 bytes: an ext file name is at most 255`},
		{`{"type":"initrd","include":{"sparse":"/big"}}`, `rootfs.include."sparse" = "` + dir + `/sparse": rootfs path "/big": the file is 4294967296 bytes: a newc cpio archive holds files of at most 4294967295`},
		{`{"type":"initrd","include":{"conf":"` + deep + `"}}`, `rootfs.include."conf" = "` + dir + `/conf": rootfs path "/d/d/d`},
	} {
		work := t.TempDir()
		js := `{"name":"x","files":{"kernel":"/k"},"annotations":{"unikernelType":"linux","hypervisor":"qemu","binary":"/k"},"rootfs":` + tc.rootfs + `}`
		_, err := Image(resolved(t, dir, js), WithWorkDir(work))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !args.IsUserError(err) {
			t.Errorf("%.200s: got %.600v\nwant %s", tc.rootfs, err, tc.want)
		}
		if ls, _ := os.ReadDir(work); len(ls) != 0 {
			t.Errorf("%.200s: wrote %v before refusing", tc.rootfs, ls)
		}
	}
}
