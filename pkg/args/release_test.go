package args

import (
	"fmt"
	"slices"
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

// TestUrunit: urunit goes at /urunit in the rootfs bunix builds (or the
// image, for a raw one) and first in the process args; it is refused for
// other guests, without a rootfs it can go in, with a cmdline and without
// a command.
func TestUrunit(t *testing.T) {
	r, err := resolve(t, withRootfs("linux", "qemu", `{"type":"initrd","include":{"./app":"/bin/app"}}`, `,"urunit":"./urunit","entrypoint":["/bin/app"],"cmd":["-v"]`))
	if err != nil {
		t.Fatal(err)
	}
	inc := r.Rootfs.Include[len(r.Rootfs.Include)-1]
	if inc.Source != "/src/urunit" || inc.Target != "/urunit" || inc.Field != "urunit" {
		t.Errorf("include %+v", inc)
	}
	if !slices.Equal(r.Entrypoint, []string{"/urunit", "/bin/app"}) || !slices.Equal(r.Cmd, []string{"-v"}) || r.Settings["cmdline"] != "/urunit /bin/app -v" {
		t.Errorf("Entrypoint %q Cmd %q cmdline %q", r.Entrypoint, r.Cmd, r.Settings["cmdline"])
	}
	r, err = resolve(t, withRootfs("linux", "qemu", `{"type":"raw","include":{"./app":"/bin/app"}}`, `,"urunit":"./urunit","cmd":["/bin/app"]`))
	if err != nil {
		t.Fatal(err)
	}
	if cp := r.Copies[len(r.Copies)-1]; cp.Target != "/urunit" || !slices.Equal(r.Entrypoint, []string{"/urunit"}) {
		t.Errorf("raw: copy %+v Entrypoint %q", cp, r.Entrypoint)
	}
	for _, tc := range []struct{ guest, monitor, rootfs, extra, want string }{
		{"unikraft", "qemu", `{"type":"initrd","include":{"./a":"/a"}}`, `,"urunit":"./urunit","cmd":["/a"]`, `urunit = "./urunit": urunit is the init of a linux guest; a unikraft guest`},
		{"linux", "qemu", `null`, `,"urunit":"./urunit","cmd":["/a"]`, `urunit goes in the guest's rootfs, and there is none`},
		{"linux", "qemu", `{"type":"initrd","from":"./pre.cpio"}`, `,"urunit":"./urunit","cmd":["/a"]`, `urunit cannot be added to a prebuilt rootfs`},
		{"linux", "qemu", `{"type":"block","include":{"./a":"/a"},"mountPoint":"/data"}`, `,"urunit":"./urunit","cmd":["/a"]`, `the block image is mounted at /data, not /`},
		{"linux", "qemu", `{"type":"initrd","include":{"./u":"/urunit"}}`, `,"urunit":"./urunit","cmd":["/a"]`, `rootfs.include."./u" already puts a file at /urunit`},
		{"linux", "qemu", `{"type":"initrd","include":{"./a":"/a"}}`, `,"urunit":"./urunit"`, `urunit runs the command in entrypoint and cmd, and there is none`},
		{"linux", "qemu", `{"type":"initrd","include":{"./a":"/a"}}`, `,"urunit":""`, `urunit = "": must not be empty`},
		{"linux", "qemu", `{"type":"initrd","include":{"./a":"/a"}}`, `,"urunit":{"ref":"x"}`, `urunit.digest = "": must be sha256: and 64 lower-case hex digits`},
		{"linux", "qemu", `{"type":"initrd","include":{"./a":"/a"}}`, `,"cmd":["/a"],"urunit":{"ref":"r.example/urunit:1","digest":"sha256:` + strings.Repeat("a", 64) + `"}`, `urunit.hash = "": must be the Nix hash of the image`},
		{"linux", "qemu", `{"type":"initrd","include":{"./a":"/a"}}`, `,"cmd":["/a"],"urunit":{"ref":"r.example/urunit:1","digest":"sha256:` + strings.Repeat("a", 64) + `","hash":"sha256-` + strings.Repeat("A", 43) + `="}`, `urunit: the image holding /urunit was not fetched`},
		{"linux", "qemu", `{"type":"initrd","include":{"./a":"/a"}}`, `,"cmd":["/a"],"urunit":{"ref":"r.example/urunit:1","digest":"sha256:` + strings.Repeat("a", 64) + `","tag":"x"}`, `urunit.tag: unknown field`},
		{"linux", "qemu", `{"type":"initrd","include":{"./a":"/a"}}`, `,"cmd":["/a"],"urunit":{"image":"/nix/store/x"}`, `urunit.image: unknown field`},
	} {
		_, err := resolve(t, withRootfs(tc.guest, tc.monitor, tc.rootfs, tc.extra))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s: err = %v\nwant %s", tc.rootfs, tc.extra, err, tc.want)
		}
	}
	js := strings.Replace(withRootfs("linux", "qemu", `{"type":"initrd","include":{"./a":"/a"}}`, `,"urunit":"./urunit"`), `"binary"`, `"cmdline":"/a","binary"`, 1)
	if _, err := resolve(t, js); err == nil || !strings.Contains(err.Error(), `annotations.cmdline = "/a": cannot go with urunit`) {
		t.Errorf("cmdline: %v", err)
	}
}
