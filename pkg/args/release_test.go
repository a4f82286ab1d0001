package args

import (
	"fmt"
	"strings"
	"testing"
)

// linuxOn is a description of a linux guest on monitor, with top-level
// fields extra (each starting with a comma).
func linuxOn(monitor, extra string) string {
	return `{"name":"x","files":{"./k":"/k"},"cmd":["/init"]` + extra + `,"annotations":{"unikernelType":"linux","hypervisor":"` + monitor + `","binary":"/k"}}`
}

// TestUruncRelease: the urunc field picks the release the guest and
// monitor are checked against; the default is 0.8; an unknown one is an
// error listing the releases; SetUrunc (the --urunc flag) overrides it.
func TestUruncRelease(t *testing.T) {
	r, err := resolve(t, linuxOn("cloud-hypervisor", ""))
	if err != nil || r.Urunc.String() != "0.8" {
		t.Fatalf("default: %v, %v", r, err)
	}
	_, err = resolve(t, linuxOn("cloud-hypervisor", `,"urunc":"0.7"`))
	want := `args.nix: annotations.hypervisor = "cloud-hypervisor": urunc 0.7 cannot run cloud-hypervisor (it came in 0.8 with PR #393); set urunc = "0.8", or choose qemu or firecracker`
	if err == nil || err.Error() != want {
		t.Errorf("0.7 + cloud-hypervisor: err = %v\nwant %s", err, want)
	}
	r, err = resolve(t, linuxOn("qemu", `,"urunc":"v0.7.0"`))
	if err != nil || r.Urunc.String() != "0.7" {
		t.Errorf("v0.7.0: %v, %v", r, err)
	}
	for _, bad := range []string{`""`, `"0.9"`, `"latest"`} {
		_, err = resolve(t, linuxOn("qemu", `,"urunc":`+bad))
		if err == nil || !strings.Contains(err.Error(), `urunc = `+bad+`: unknown urunc release: give the oldest urunc the image must run on, one of 0.5, 0.6, 0.7, 0.8`) {
			t.Errorf("urunc = %s: err = %v", bad, err)
		}
	}
	_, err = resolve(t, linuxOn("qemu", `,"urunc":7`))
	if err == nil || !strings.Contains(err.Error(), "urunc = 7: must be a string") {
		t.Errorf("urunc = 7: err = %v", err)
	}
	a, err := DecodeJSON([]byte(linuxOn("cloud-hypervisor", `,"urunc":"0.8"`)), "args.nix", "/src")
	if err != nil {
		t.Fatal(err)
	}
	a.SetUrunc("0.7")
	if _, err := a.Resolve(); err == nil || !strings.Contains(err.Error(), "urunc 0.7 cannot run cloud-hypervisor") {
		t.Errorf("SetUrunc(0.7): err = %v", err)
	}
}

// TestWorkingDirUser: workingDir must be a clean absolute path, user
// "UID" or "UID:GID" in decimal; both reach Resolved.
func TestWorkingDirUser(t *testing.T) {
	r, err := resolve(t, linuxOn("qemu", `,"workingDir":"/srv","user":"1000:100"`))
	if err != nil || r.WorkingDir != "/srv" || r.User != "1000:100" {
		t.Fatalf("got %+v, %v", r, err)
	}
	if r, err := resolve(t, linuxOn("qemu", `,"user":"0"`)); err != nil || r.User != "0" {
		t.Errorf("user 0: %v", err)
	}
	for extra, want := range map[string]string{
		`,"workingDir":"srv"`:   `workingDir = "srv": must be an absolute path in the guest (did you mean "/srv"?)`,
		`,"workingDir":"/srv/"`: `workingDir = "/srv/": must be a clean path (did you mean "/srv"?)`,
		`,"workingDir":""`:      `workingDir = "": must not be empty`,
		`,"user":"nobody"`:      `user = "nobody": want "UID" or "UID:GID"`,
		`,"user":"1000:"`:       `user = "1000:": want "UID" or "UID:GID"`,
		`,"user":"4294967296"`:  `user = "4294967296": want "UID" or "UID:GID"`,
		`,"user":""`:            `user = "": want "UID" or "UID:GID"`,
		`,"workingDir":"/a\nb"`: `must be one line`,
	} {
		_, err := resolve(t, linuxOn("qemu", extra))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", extra, err, want)
		}
	}
}

// TestBlockRules: a block needs a mount point, and one at "/" next to an
// initrd is refused (urunc never attaches it); elsewhere it is fine.
func TestBlockRules(t *testing.T) {
	const ann = `{"name":"x","files":{"./k":"/k","./b":"/b.img","./i":"/i.cpio"},"cmd":["/init"]%s,"annotations":{"unikernelType":"linux","hypervisor":"qemu","binary":"/k"%s}}`
	for _, tc := range []struct{ top, ann, want string }{
		{"", `,"block":"/b.img"`, `annotations.block = "/b.img": a block needs a mount point: urunc refuses the container at start ("annotation for block device was set without a mountpoint")`},
		{"", `,"block":"/b.img","blkMntPoint":"/","initrd":"/i.cpio"`, `annotations.blkMntPoint = "/": the block /b.img is mounted at / next to the initrd /i.cpio: urunc takes the initrd as the guest's rootfs and never attaches the block; mount it elsewhere, e.g. "/data"`},
		{`,"rootfs":{"type":"block","include":{"./c":"/c"}}`, `,"initrd":"/i.cpio"`, `rootfs.mountPoint = "/": the block /unikernel/rootfs.img is mounted at / next to the initrd /i.cpio`},
		{`,"rootfs":{"type":"initrd","include":{"./c":"/init"}}`, `,"block":"/b.img","blkMntPoint":"/"`, `annotations.blkMntPoint = "/": the block /b.img is mounted at / next to the initrd /unikernel/rootfs.cpio`},
	} {
		_, err := resolve(t, fmt.Sprintf(ann, tc.top, tc.ann))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s: err = %v\nwant %s", tc.top, tc.ann, err, tc.want)
		}
	}
	for _, ok := range [][2]string{
		{"", `,"block":"/b.img","blkMntPoint":"/data","initrd":"/i.cpio"`},
		{"", `,"block":"/b.img","blkMntPoint":"/"`},
		{`,"rootfs":{"type":"block","include":{"./c":"/c"},"mountPoint":"/data"}`, `,"initrd":"/i.cpio"`},
	} {
		if _, err := resolve(t, fmt.Sprintf(ann, ok[0], ok[1])); err != nil {
			t.Errorf("%s %s: %v", ok[0], ok[1], err)
		}
	}
}

// TestUnikraftGzip: compression = "gzip" is refused for a unikraft
// guest's initrd, allowed for a linux one.
func TestUnikraftGzip(t *testing.T) {
	_, err := resolve(t, withRootfs("unikraft", "qemu", `{"type":"initrd","include":{"./r":"/"},"compression":"gzip"}`, ""))
	if err == nil || !strings.Contains(err.Error(), `rootfs.compression = "gzip": a unikraft guest reads only an uncompressed newc initrd`) {
		t.Errorf("unikraft: %v", err)
	}
	if _, err := resolve(t, withRootfs("linux", "qemu", `{"type":"initrd","include":{"./r":"/"},"compression":"gzip"}`, `,"cmd":["/init"]`)); err != nil {
		t.Errorf("linux: %v", err)
	}
}
