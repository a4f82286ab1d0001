package args

import (
	"strings"
	"testing"
)

// withRootfs is a description for guest on monitor with rootfs, as JSON.
func withRootfs(guest, monitor, rootfs, extra string) string {
	return `{"name":"x","files":{"./k":"/unikernel/kernel"}` + extra + `,
	  "annotations":{"unikernelType":"` + guest + `","hypervisor":"` + monitor + `","binary":"/unikernel/kernel"},
	  "rootfs":` + rootfs + `}`
}

func TestRootfsDefaults(t *testing.T) {
	for _, tc := range []struct {
		guest, monitor, rootfs string
		want                   map[string]string // settings
		path, fsType           string
		gzip                   bool
	}{
		{"unikraft", "qemu", `{"type":"initrd","include":{"./init":"/init"}}`,
			map[string]string{"initrd": "/unikernel/rootfs.cpio", "mountRootfs": "false"}, "/unikernel/rootfs.cpio", "", false},
		{"linux", "qemu", `{"type":"initrd","include":[{"source":"./r","target":"/"}],"compression":"gzip","from":null}`,
			map[string]string{"initrd": "/unikernel/rootfs.cpio.gz"}, "/unikernel/rootfs.cpio.gz", "", true},
		{"rumprun", "hvt", `{"type":"block","include":{"./c":"/conf/c"}}`,
			map[string]string{"block": "/unikernel/rootfs.img", "blkMntPoint": "/data"}, "/unikernel/rootfs.img", "ext2", false},
		{"linux", "firecracker", `{"type":"block","include":{"./r":"/"},"path":"/disk.ext4","size":"64M"}`,
			map[string]string{"block": "/disk.ext4", "blkMntPoint": "/"}, "/disk.ext4", "ext4", false},
		{"freebsd", "qemu", `{"type":"block","from":"./fs.img"}`,
			map[string]string{"block": "/unikernel/rootfs.img", "blkMntPoint": "/"}, "/unikernel/rootfs.img", "", false},
	} {
		extra := ""
		if tc.guest == "freebsd" {
			extra = `,"urunc":"main"`
		}
		r, err := resolve(t, withRootfs(tc.guest, tc.monitor, tc.rootfs, extra))
		if err != nil {
			t.Errorf("%s: %v", tc.rootfs, err)
			continue
		}
		for k, v := range tc.want {
			if r.Settings[k] != v {
				t.Errorf("%s: Settings[%s] = %q, want %q", tc.rootfs, k, r.Settings[k], v)
			}
		}
		if rf := r.Rootfs; rf.Path != tc.path || rf.FSType != tc.fsType || rf.Gzip != tc.gzip {
			t.Errorf("%s: Rootfs = %+v", tc.rootfs, rf)
		}
	}
	r, err := resolve(t, withRootfs("linux", "qemu", `{"type":"block","include":{"./r":"/"},"size":"64M"}`, ""))
	if err != nil || r.Rootfs.Size != 64<<20 || r.Rootfs.Include[0].Source != "/src/r" || r.Rootfs.Include[0].Target != "/" || r.Rootfs.Include[0].Field != `rootfs.include."./r"` {
		t.Errorf("%+v %v", r.Rootfs, err)
	}
}

func TestRootfsRaw(t *testing.T) {
	r, err := resolve(t, withRootfs("rumprun", "hvt", `{"type":"raw","include":{"./redis.conf":"/conf/redis.conf"}}`, ""))
	if err != nil {
		t.Fatal(err)
	}
	if r.Rootfs != nil || len(r.Copies) != 2 || r.Copies[1].Target != "/conf/redis.conf" || r.Copies[1].Field != `rootfs.include."./redis.conf"` {
		t.Errorf("a raw rootfs's includes are copies into the image: %+v %+v", r.Rootfs, r.Copies)
	}
	if r.Settings["mountRootfs"] != "true" || r.Settings["useDMBlock"] != "true" {
		t.Errorf("Settings = %v", r.Settings)
	}
}

// TestRawRootfsMonitors: a raw rootfs (mountRootfs = "true") that urunc can
// never honour is an error; one that depends on the host is a warning that
// says what the host needs.
func TestRawRootfsMonitors(t *testing.T) {
	for _, tc := range []struct {
		guest, monitor, rootfs, extra string
		warn, err                     string
	}{
		{"rumprun", "hvt", `{"type":"raw","include":{"./c":"/c"}}`, "",
			`args.nix: rootfs.type = "raw": urunc hands the container snapshot to the rumprun guest as a block device: containerd must use a block snapshotter such as devmapper`, ""},
		{"linux", "firecracker", "null", `,"mountRootfs":"true"`,
			`args.nix: annotations.mountRootfs = "true": urunc hands the container snapshot to the linux guest as a block device`, ""},
		{"freebsd", "qemu", `{"type":"raw","include":{"./c":"/c"}}`, "", "on overlayfs, urunc 0.7 and later share it over virtiofs or 9p instead", ""},
		{"linux", "qemu", `{"type":"raw","include":{"./c":"/c"}}`, "",
			`args.nix: rootfs.type = "raw": urunc hands the container snapshot to the linux guest as a block device when containerd uses a block snapshotter such as devmapper; on overlayfs, urunc 0.7 and later share it over virtiofs or 9p instead`, ""},
		{"linux", "qemu", `{"type":"raw","include":{"./c":"/c"}}`, `0.6`,
			`args.nix: rootfs.type = "raw": urunc hands the container snapshot to the linux guest as a block device: containerd must use a block snapshotter such as devmapper; on overlayfs urunc refuses`, ""},
		{"unikraft", "qemu", `{"type":"raw","include":{"./c":"/c"}}`, "",
			`args.nix: rootfs.type = "raw": urunc shares the container rootfs with the unikraft guest through 9pfs`, ""},
		{"hermit", "qemu", "null", `,"useDMBlock":"true"`, `args.nix: annotations.useDMBlock = "true": urunc shares the container rootfs with the hermit guest through virtiofs: the host needs virtiofsd`, ""},
		{"unikraft", "firecracker", `{"type":"raw","include":{"./c":"/c"}}`, "", "",
			`args.nix: rootfs.type = "raw": urunc shares the container rootfs with a unikraft guest only through 9pfs, which firecracker does not provide`},
		{"unikraft", "hyperlight-unikraft", "null", `,"mountRootfs":"true"`, "",
			`args.nix: annotations.mountRootfs = "true": urunc shares the container rootfs with a unikraft guest only through 9pfs, which hyperlight-unikraft does not provide`},
		{"mirage", "hvt", "null", `,"mountRootfs":"true"`, "",
			`args.nix: annotations.mountRootfs = "true": a mirage guest takes no file-system rootfs`},
		{"mewz", "qemu", "null", `,"mountRootfs":"true"`, "", `a mewz guest takes no file-system rootfs`},
		{"mirage", "spt", `{"type":"raw","include":{"./c":"/c"}}`, "", "",
			`args.nix: rootfs.type = "raw": a mirage guest cannot use a raw rootfs (urunc gives mirage only block)`},
	} {
		release := "0.8"
		if tc.guest == "freebsd" {
			release = "main"
		}
		if tc.extra == "0.6" {
			release, tc.extra = "0.6", ""
		}
		js := `{"name":"x","files":{"./k":"/unikernel/kernel"},"cmd":["/app"],"urunc":"` + release + `",
		  "annotations":{"unikernelType":"` + tc.guest + `","hypervisor":"` + tc.monitor + `","binary":"/unikernel/kernel"` + tc.extra + `},
		  "rootfs":` + tc.rootfs + `}`
		r, err := resolve(t, js)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s on %s, %s%s: err = %v, want %q", tc.guest, tc.monitor, tc.rootfs, tc.extra, err, tc.err)
			} else if n := strings.Count(err.Error(), "\n"); n != 0 {
				t.Errorf("%s on %s: want one error, got %v", tc.guest, tc.monitor, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s on %s: %v", tc.guest, tc.monitor, err)
			continue
		}
		if !hasWarning(r, tc.warn) {
			t.Errorf("%s on %s, %s%s: Warnings = %q, want %q", tc.guest, tc.monitor, tc.rootfs, tc.extra, r.Warnings, tc.warn)
		}
	}
}

func hasWarning(r *Resolved, want string) bool {
	for _, w := range r.Warnings {
		if strings.Contains(w, want) {
			return true
		}
	}
	return false
}

func TestRootfsBadInput(t *testing.T) {
	for _, tc := range []struct {
		guest, monitor, rootfs, extra string
		want                          string
	}{
		{"unikraft", "qemu", `{"type":"block","include":{"./c":"/c"}}`, "",
			`rootfs.type = "block": a unikraft guest cannot use a block rootfs (urunc gives unikraft only initrd, raw)`},
		{"rumprun", "hvt", `{"type":"initrd","include":{"./c":"/c"}}`, "",
			`rootfs.type = "initrd": a rumprun guest cannot use an initrd rootfs (urunc gives rumprun only raw, block)`},
		{"mirage", "hvt", `{"type":"initrd","include":{"./c":"/c"}}`, "", `a mirage guest cannot use an initrd rootfs`},
		{"mewz", "qemu", `{"type":"raw"}`, "", `a mewz guest cannot use a raw rootfs (urunc gives mewz no rootfs at all)`},
		{"linux", "qemu", `{"type":"initdr"}`, "", `rootfs.type = "initdr": unknown rootfs type; did you mean "initrd"?`},
		{"linux", "qemu", `{"include":{"./c":"/c"}}`, "", `rootfs.type: missing: give initrd, raw, block`},
		{"linux", "qemu", `{"type":"initrd","include":{"./a":"/c"},"from":"./x.cpio"}`, "", `rootfs.from = "./x.cpio": cannot go with include`},
		{"linux", "qemu", `{"type":"initrd","include":[{"source":"./a","target":"/c"},{"source":"./b","target":"/c"}]}`, "",
			`rootfs.include[1] = "/c": target is also the target of rootfs.include[0]: two includes cannot share one target`},
		{"rumprun", "hvt", `{"type":"raw","include":{"./c":"/unikernel/kernel"}}`, "",
			`target is also the target of files."./k": two sources cannot share one target`},
		{"rumprun", "hvt", `{"type":"block","include":{"./c":"/c"},"fsType":"ext4"}`, "", `rootfs.fsType = "ext4": a rumprun guest cannot mount ext4 (it mounts ext2)`},
		{"linux", "qemu", `{"type":"block","include":{"./c":"/c"},"fsType":"xfs"}`, "", `rootfs.fsType = "xfs": unknown file system type`},
		{"linux", "qemu", `{"type":"block","include":{"./c":"/c"},"size":"lots"}`, "", `rootfs.size = "lots": want a number of bytes, or a string such as "64M"`},
		{"linux", "qemu", `{"type":"block","include":{"./c":"/c"},"size":0}`, "", `rootfs.size = 0: must be more than 0`},
		{"linux", "qemu", `{"type":"initrd","include":{"./c":"/c"},"size":"1M"}`, "", `rootfs.size = "1048576": applies only to a block rootfs, not to initrd`},
		{"linux", "qemu", `{"type":"initrd","include":{"./c":"/c"},"mountPoint":"/x"}`, "", `rootfs.mountPoint = "/x": applies only to a block rootfs, not to initrd`},
		{"linux", "qemu", `{"type":"initrd","include":{"./c":"/c"},"compression":"xz"}`, "", `rootfs.compression = "xz": unknown compression (known: gzip, none)`},
		{"linux", "qemu", `{"type":"initrd"}`, "", `rootfs.include: nothing to put in the initrd: give include, or from for a prebuilt one`},
		{"linux", "qemu", `{"type":"raw","from":"./x"}`, "", `rootfs.from = "./x": applies only to an initrd or block rootfs, not to raw`},
		{"linux", "qemu", `{"type":"initrd","include":{"./c":"c"}}`, "", `rootfs.include."./c" = "c": target must be an absolute path`},
		{"linux", "qemu", `{"type":"initrd","include":{"./c":"/c"},"path":"/a b"}`, "", `rootfs.path = "/a b": urunc accepts only letters, digits`},
		{"linux", "qemu", `{"type":"initrd","include":{"./c":"/c"},"flavour":1}`, "", `rootfs.flavour: unknown field (known: type, include, from`},
		{"linux", "qemu", `{"type":"initrd","include":{"./c":"/c"}}`, `,"tag":"t","architecture":"amd64","contents":[]`, ""},
	} {
		js := withRootfs(tc.guest, tc.monitor, tc.rootfs, tc.extra)
		_, err := resolve(t, js)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.rootfs, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s: got %v\nwant %s", tc.guest, tc.rootfs, err, tc.want)
		}
	}
	// Annotations that disagree with what the rootfs sets.
	for _, tc := range []struct{ ann, rootfs, want string }{
		{`"initrd":"/other.cpio"`, `{"type":"initrd","include":{"./c":"/c"}}`,
			`annotations.initrd = "/other.cpio": disagrees with rootfs.path, which puts it at "/unikernel/rootfs.cpio"`},
		{`"blkMntPoint":"/"`, `{"type":"block","include":{"./c":"/c"}}`, `annotations.blkMntPoint = "/": disagrees with rootfs.mountPoint, which puts it at "/data"`},
		{`"useDMBlock":"false"`, `{"type":"raw"}`, `annotations.useDMBlock = "false": disagrees with rootfs.type = "raw"`},
	} {
		js := `{"name":"x","files":{"./k":"/k"},"annotations":{"unikernelType":"rumprun","hypervisor":"hvt","binary":"/k",` + tc.ann + `},"rootfs":` + tc.rootfs + `}`
		if _, err := resolve(t, js); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v\nwant %s", tc.ann, err, tc.want)
		}
	}
}

func TestRootfsHCLPositions(t *testing.T) {
	src := `name = "x"
files = { "./k" = "/k" }
annotations = { unikernelType = "rumprun", hypervisor = "hvt", binary = "/k" }
rootfs = {
  type = "block"
  include = { "./c" = "c" }
  fsType = "ext4"
}
`
	a, err := DecodeHCL([]byte(src), "args.hcl", "/src")
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Resolve()
	for _, want := range []string{`args.hcl:6:23: rootfs.include."./c" = "c": target must be an absolute path`, `args.hcl:7:12: rootfs.fsType = "ext4"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want %s", err, want)
		}
	}
}

// TestIncludeFromImageUnextracted: an include out of an image is a path in
// that image: resolving it before the build extracted it is an error, not
// a copy of the file at that path on this machine.
func TestIncludeFromImageUnextracted(t *testing.T) {
	digest := "sha256:" + strings.Repeat("ab", 32)
	a, err := DecodeJSON([]byte(`{"name":"x","files":{"/etc/hostname":"/k"},"rootfs":{"type":"initrd","include":[{"image":{"ref":"r.io/a:1","digest":"`+digest+`","hash":"sha256-`+strings.Repeat("A", 43)+`="},"source":"/etc/passwd","target":"/init"}]},
	  "annotations":{"unikernelType":"linux","hypervisor":"qemu","binary":"/k"}}`), "args.json", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Resolve(); err == nil || !strings.Contains(err.Error(), `rootfs.include[0].image = "/etc/passwd": a copy out of an image is extracted by the build first`) {
		t.Errorf("got %v", err)
	}
}
