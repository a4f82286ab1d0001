package args

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// proc is a unikraft description with extra top-level fields and
// annotations.
func proc(top, ann string) string {
	return `{"name":"x","files":{"./k":"/unikernel/kernel"}` + top + `,
	  "annotations":{"unikernelType":"unikraft","hypervisor":"qemu","binary":"/unikernel/kernel"` + ann + `}}`
}

func TestProcess(t *testing.T) {
	for _, tc := range []struct {
		name, top, ann       string
		entrypoint, cmd, env []string
		cmdline              string // the annotation written; "" for none
	}{
		{name: "cmdline alone gives Cmd its words", ann: `,"cmdline":"/app -c 'a b'"`,
			cmd: []string{"/app", "-c", "a b"}, cmdline: "/app -c 'a b'"},
		{name: "cmd alone gives the cmdline, joined as urunc joins", top: `,"cmd":["/app","-c","a b"]`,
			cmd: []string{"/app", "-c", "a b"}, cmdline: "/app -c 'a b'"},
		{name: "entrypoint and cmd", top: `,"entrypoint":["/init"],"cmd":["hello"]`,
			entrypoint: []string{"/init"}, cmd: []string{"hello"}, cmdline: "/init hello"},
		{name: "entrypoint alone", top: `,"entrypoint":["/init"]`, entrypoint: []string{"/init"}, cmdline: "/init"},
		{name: "both agreeing by words", top: `,"cmd":["a","b c"]`, ann: `,"cmdline":"a \"b c\""`,
			cmd: []string{"a", "b c"}, cmdline: `a "b c"`},
		{name: "both agreeing as urunc joins", top: `,"cmd":["it's"]`, ann: `,"cmdline":"it's"`,
			cmd: []string{"it's"}, cmdline: "it's"},
		{name: "empty lists are no command", top: `,"cmd":[],"entrypoint":[]`},
		{name: "an empty word after the program is an argument", top: `,"entrypoint":["/init"],"cmd":[""]`,
			entrypoint: []string{"/init"}, cmd: []string{""}, cmdline: "/init "},
		{name: "env in name order", top: `,"env":{"Z":"1","A_B":"x=y z","_u":""},"cmd":["/a"]`,
			cmd: []string{"/a"}, env: []string{"A_B=x=y z", "Z=1", "_u="}, cmdline: "/a"},
	} {
		r, err := resolve(t, proc(tc.top, tc.ann))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !reflect.DeepEqual(r.Entrypoint, tc.entrypoint) || !reflect.DeepEqual(r.Cmd, tc.cmd) || !reflect.DeepEqual(r.Env, tc.env) {
			t.Errorf("%s: Entrypoint %q Cmd %q Env %q, want %q %q %q", tc.name, r.Entrypoint, r.Cmd, r.Env, tc.entrypoint, tc.cmd, tc.env)
		}
		if got, ok := r.Settings["cmdline"]; got != tc.cmdline || ok != (tc.cmdline != "") {
			t.Errorf("%s: cmdline = %q (set %v), want %q", tc.name, got, ok, tc.cmdline)
		}
		noCmd := hasWarning(r, "args.nix: no command: the image has no Entrypoint or Cmd, so `docker run` and podman refuse to start it")
		if noCmd != (tc.cmd == nil && tc.entrypoint == nil) {
			t.Errorf("%s: no-command warning %v, Warnings %q", tc.name, noCmd, r.Warnings)
		}
	}
}

func TestProcessRefused(t *testing.T) {
	long := strings.Repeat("a", 4097)
	for _, tc := range []struct{ top, ann, want string }{
		{`,"cmd":["/app","x"]`, `,"cmdline":"/app y"`,
			`args.nix: annotations.cmdline = "/app y": disagrees with entrypoint + cmd = ["/app","x"] (which urunc joins as "/app x"): give the command once`},
		{`,"entrypoint":["/a"]`, `,"com.urunc.unikernel.cmdline":"/b"`, `annotations.com.urunc.unikernel.cmdline = "/b": disagrees with entrypoint + cmd = ["/a"]`},
		{`,"cmd":["a\nb"]`, "", `cmd[0] = "a\nb": must be one line`},
		{`,"entrypoint":["a\u0000"]`, "", `entrypoint[0] = "a\x00": must not contain a NUL byte`},
		{`,"cmd":[""]`, "", `cmd[0] = "": is the program to run (argv[0]) and is empty`},
		{`,"entrypoint":[],"cmd":["","x"]`, "", `cmd[0] = "": is the program to run (argv[0]) and is empty`},
		{`,"entrypoint":[""],"cmd":["/app"]`, "", `entrypoint[0] = "": is the program to run (argv[0]) and is empty`},
		{`,"urunit":"ghcr.io/x/urunit:1","cmd":[""]`, "", `cmd[0] = "": is the program to run (argv[0]) and is empty`},
		{`,"cmd":"/app"`, "", `cmd = "/app": must be a list of strings`},
		{`,"cmd":[1]`, "", `cmd[0] = 1: must be a string`},
		{`,"cmd":["` + long + `"]`, "", `cmd: joined into the cmdline annotation for older urunc, it is 4097 bytes`},
		{`,"env":{"1A":"x"}`, "", `env.1A = "x": "1A" is not a variable name`},
		{`,"env":{"A-B":"x"}`, "", `env.A-B = "x": "A-B" is not a variable name`},
		{`,"env":{"A":"x\ny"}`, "", `env.A = "x\ny": must be one line`},
		{`,"env":{"A":1}`, "", `env.A = 1: must be a string`},
		{`,"env":["A=1"]`, "", `env = ["A=1"]: must be an attribute set of strings`},
		{"", `,"blkMntPoint":"/mnt/my data"`, `annotations.blkMntPoint = "/mnt/my data": urunc accepts only letters, digits and . _ / - in paths`},
		{"", `,"blkMntPoint":"/` + long + `"`, `path longer than 4096 bytes`},
		{"", `,"unikernelVersion":"` + long + `"`, `annotations.unikernelVersion = "aaaa`},
	} {
		_, err := resolve(t, proc(tc.top, tc.ann))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s: err = %v, want %q", tc.top, tc.ann, err, tc.want)
		}
	}
	_, err := resolve(t, proc("", `,"unikernelVersion":"`+long+`"`))
	if err == nil || !strings.Contains(err.Error(), "is 4097 bytes long: urunc takes at most 4096") {
		t.Errorf("unikernelVersion: %v", err)
	}
	_, err = resolve(t, withRootfs("linux", "qemu", `{"type":"block","include":{"./c":"/c"},"mountPoint":"/mnt/my data"}`, ""))
	if err == nil || !strings.Contains(err.Error(), `rootfs.mountPoint = "/mnt/my data": urunc accepts only letters`) {
		t.Errorf("rootfs.mountPoint: %v", err)
	}
}

// TestFreeBSDRelease: a freebsd guest, which no urunc release runs yet,
// is refused for the default release, naming the pull request and what to
// set; with urunc = "main" it builds, with a warning naming the pull
// request.
func TestFreeBSDRelease(t *testing.T) {
	const js = `{"name":"x","files":{"./k":"/k"},"cmd":["/a"]%s,"annotations":{"unikernelType":"freebsd","hypervisor":"qemu","binary":"/k"}}`
	_, err := resolve(t, fmt.Sprintf(js, ""))
	if err == nil || !strings.Contains(err.Error(), `annotations.unikernelType = "freebsd": urunc 0.8 cannot run a freebsd guest (it is only in urunc's unreleased main branch with PR #538); set urunc = "main"`) {
		t.Errorf("default release: err = %v", err)
	}
	r, err := resolve(t, fmt.Sprintf(js, `,"urunc":"main"`))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], `annotations.unikernelType = "freebsd": freebsd is only in urunc's main branch (PR #538)`) {
		t.Errorf("Warnings = %q, want one about freebsd", r.Warnings)
	}
}

func TestMirageBlock(t *testing.T) {
	r, err := resolve(t, withRootfs("mirage", "hvt", `{"type":"block","from":"./disk.img"}`, ""))
	if err != nil {
		t.Fatal(err)
	}
	if r.Rootfs != nil || len(r.Copies) != 2 || r.Copies[1].Source != "/src/disk.img" || r.Copies[1].Target != "/unikernel/rootfs.img" || r.Copies[1].Field != "rootfs.from" {
		t.Errorf("a mirage block is packaged as it is: Rootfs %+v Copies %+v", r.Rootfs, r.Copies)
	}
	// urunc refuses a block without a mount point, mirage's too.
	if r.Settings["block"] != "/unikernel/rootfs.img" || r.Settings["blkMntPoint"] != "/data" {
		t.Errorf("Settings = %v", r.Settings)
	}
	for _, tc := range []struct{ rootfs, want string }{
		{`{"type":"block","include":{"./c":"/c"}}`, "rootfs.include: a mirage block is a raw device that mirage reads itself, with no file system: a file system bunix would build there is meaningless to it"},
		{`{"type":"block","from":"./d","fsType":"ext2"}`, `rootfs.fsType = "ext2": a mirage block is a raw device`},
		{`{"type":"block","from":"./d","mountPoint":"/data"}`, `rootfs.mountPoint = "/data": a mirage block is a raw device`},
		{`{"type":"block","from":"./d","size":"8M"}`, `rootfs.size = "8388608": a mirage block is a raw device`},
		{`{"type":"raw","include":{"./c":"/c"}}`, `rootfs.type = "raw": a mirage guest cannot use a raw rootfs`},
	} {
		_, err := resolve(t, withRootfs("mirage", "hvt", tc.rootfs, ""))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.rootfs, err, tc.want)
		}
	}
}

func TestJoinArgs(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{[]string{"/init", "hello", "two words"}, "/init hello 'two words'"},
		{[]string{"a"}, "a"},
		{nil, ""},
	} {
		if got := JoinArgs(tc.in); got != tc.want {
			t.Errorf("JoinArgs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
