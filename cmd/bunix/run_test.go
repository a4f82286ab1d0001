package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestRunDryRun: bunix run --dry-run on a docker-archive of a Linux guest
// on firecracker prints firecracker's command line and the config it
// would write, with the kernel and initrd taken out of the image into
// the private directory, the Cmd replaced and --env added; it needs no
// firecracker, leaves nothing behind, and without --dry-run the missing
// monitor is an error naming where it comes from.
func TestRunDryRun(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"kernel": "\x7fELF not really a kernel",
		"init":   "#!/bin/sh\n",
		"args.json": `{"name": "bunix/fc", "files": {"./kernel": "/unikernel/vmlinux"},
  "rootfs": {"type": "initrd", "include": {"./init": "/init"}},
  "entrypoint": ["/init"], "cmd": ["a", "b"], "env": {"GREETING": "hi"},
  "annotations": {"unikernelType": "linux", "hypervisor": "firecracker", "binary": "/unikernel/vmlinux"}}`,
	})
	img := filepath.Join(dir, "image.tar")
	if code, _, stderr := cli(t, nil, "build", "-f", filepath.Join(dir, "args.json"), "-o", img); code != 0 {
		t.Fatalf("build: exit %d: %s", code, stderr)
	}
	tmp := t.TempDir()
	t.Setenv("PATH", t.TempDir()) // no firecracker
	env := map[string]string{"TMPDIR": tmp}
	code, stdout, stderr := cli(t, env, "run", "--dry-run", "--env", "ADDED=1", "-m", "1g", "--cpus", "2", img, "x", "y")
	if code != 0 {
		t.Fatalf("run --dry-run: exit %d: %s", code, stderr)
	}
	lines := strings.SplitN(stdout, "\n", 3)
	m := regexp.MustCompile(`^firecracker --no-api --config-file (` + regexp.QuoteMeta(tmp) + `/bunix-run-[^/]+)/fc\.json --no-seccomp$`).FindStringSubmatch(lines[0])
	if m == nil || len(lines) < 3 || lines[1] != "# "+m[1]+"/fc.json:" {
		t.Fatalf("stdout:\n%s", stdout)
	}
	var fc struct {
		Boot struct {
			Kernel string `json:"kernel_image_path"`
			Args   string `json:"boot_args"`
			Initrd string `json:"initrd_path"`
		} `json:"boot-source"`
		Machine struct {
			CPUs uint `json:"vcpu_count"`
			Mem  uint `json:"mem_size_mib"`
		} `json:"machine-config"`
	}
	if err := json.Unmarshal([]byte(lines[2]), &fc); err != nil {
		t.Fatalf("config %q: %v", lines[2], err)
	}
	private := m[1]
	if fc.Boot.Kernel != private+"/rootfs/unikernel/vmlinux" || !strings.HasPrefix(fc.Boot.Initrd, private+"/rootfs/") ||
		fc.Machine.CPUs != 2 || fc.Machine.Mem != 1024 ||
		fc.Boot.Args != "panic=-1 console=ttyS0 root=/dev/ram0 rw PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin GREETING=hi ADDED=1 rdinit=/init -- x y" {
		t.Errorf("config %+v", fc)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("the dry run left %s behind", ents[0].Name())
	}

	code, stdout, stderr = cli(t, env, "run", img)
	if code != exitFailure || stdout != "" || !strings.Contains(stderr, "firecracker is not installed (not on PATH): it comes with a firecracker release") {
		t.Errorf("run without firecracker: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("the run left %s behind", ents[0].Name())
	}
}

// TestRunRefuses: mistakes on the command line or in the image exit 2
// with a message naming what is wrong, and start nothing.
func TestRunRefuses(t *testing.T) {
	dir := project(t) // rumprun on hvt with mountRootfs = "true"
	img := filepath.Join(dir, "image.tar")
	if code, _, stderr := cli(t, nil, "build", "-f", filepath.Join(dir, "args.json"), "-o", img); code != 0 {
		t.Fatalf("build: exit %d: %s", code, stderr)
	}
	big := filepath.Join(dir, "big.env")
	os.WriteFile(big, []byte(strings.Repeat("A=1\n", 1<<19)), 0o644) // 2 MiB
	for _, c := range []struct {
		argv []string
		want string
	}{
		{[]string{"run"}, "requires at least 1 arg"},
		{[]string{"run", "--dry-run", "--env-file", big, img}, "--env-file " + big + ": more than 1 MiB"},
		{[]string{"run", "-p", "80:http", img}, `-p "80:http": want HOST:GUEST`},
		{[]string{"run", "-m", "", img}, `--memory "": want a size such as 512m or 1g`},
		{[]string{"run", "-m", "1k", img}, `--memory "1k": at least 16m`},
		{[]string{"run", "-m", "512gm", img}, `--memory "512gm": want a size such as 512m or 1g`},
		{[]string{"run", "-m", "1mg", img}, `--memory "1mg": want a size such as 512m or 1g`},
		{[]string{"run", "-m", "2t", img}, `--memory "2t": more than 1t`},
		{[]string{"run", "-m", "99999999999999999999g", img}, `--memory "99999999999999999999g": more than 1t`},
		{[]string{"run", "--timeout", "-1s", img}, `--timeout -1s: want a positive duration`},
		{[]string{"run", "-p", "8080:80", "-p", "8080:81", img}, `-p 8080:81: host port 8080 is already forwarded (to 80)`},
		{[]string{"run", "--accel", "hvf", img}, `--accel "hvf": want kvm or tcg`},
		{[]string{"run", "--env", "=x", img}, `--env "=x": want KEY=VALUE`},
		{[]string{"run", filepath.Join(dir, "missing.tar")}, "no such file"},
		{[]string{"run", "--dry-run", img}, `mountRootfs = "true": urunc hands the container rootfs to a rumprun guest on hvt only as a devmapper block device`},
		{[]string{"run", "--dry-run", "-p", "8080:80", filepath.Join(dir, "args.json")}, "opening image"},
	} {
		code, stdout, stderr := cli(t, nil, c.argv...)
		if code != exitBadInput || stdout != "" || !strings.Contains(stderr, c.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 saying %q", c.argv, code, stdout, stderr, c.want)
		}
	}
	// A TMPDIR that is a file is as much the user's as one that is missing.
	for _, tmp := range []string{img, "/dev/null", filepath.Join(dir, "missing")} {
		code, stdout, stderr := cli(t, map[string]string{"TMPDIR": tmp}, "run", "--dry-run", img)
		if code != exitBadInput || stdout != "" || !strings.Contains(stderr, "making the run's private directory") {
			t.Errorf("TMPDIR=%s: exit %d, stdout %q, stderr %q; want exit 2", tmp, code, stdout, stderr)
		}
	}
}

// TestRunCompletes: --accel completes with kvm and tcg.
func TestRunCompletes(t *testing.T) {
	code, stdout, _ := cli(t, nil, "__complete", "run", "--accel", "")
	if code != 0 || !strings.HasPrefix(stdout, "kvm\ntcg\n") {
		t.Errorf("exit %d, completions %q", code, stdout)
	}
}

// TestRunUrunc: --urunc chooses the release whose ways the run follows:
// a pair the release does not run is refused, an older release's
// Unikraft argv takes the first argument as the name, and an unknown
// release is a usage error.
func TestRunUrunc(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"kernel": "not really a kernel",
		"args.json": `{"name": "bunix/uk", "files": {"./kernel": "/unikernel/kernel"},
  "entrypoint": ["nginx"], "cmd": ["-c", "/conf"],
  "annotations": {"unikernelType": "unikraft", "hypervisor": "hyperlight-unikraft", "binary": "/unikernel/kernel"}}`,
		"qemu.json": `{"name": "bunix/uk", "files": {"./kernel": "/unikernel/kernel"},
  "entrypoint": ["nginx"], "cmd": ["-c", "/conf"],
  "annotations": {"unikernelType": "unikraft", "hypervisor": "qemu", "binary": "/unikernel/kernel"}}`,
	})
	for _, f := range []string{"args", "qemu"} {
		if code, _, stderr := cli(t, nil, "build", "-f", filepath.Join(dir, f+".json"), "-o", filepath.Join(dir, f+".tar")); code != 0 {
			t.Fatalf("build %s: exit %d: %s", f, code, stderr)
		}
	}
	hyperlight, qemu := filepath.Join(dir, "args.tar"), filepath.Join(dir, "qemu.tar")
	if code, stdout, stderr := cli(t, nil, "run", "--dry-run", hyperlight); code != 0 || !strings.HasPrefix(stdout, "hyperlight-unikraft ") {
		t.Errorf("0.8 runs unikraft on hyperlight-unikraft: exit %d, %q, %s", code, stdout, stderr)
	}
	code, stdout, stderr := cli(t, nil, "run", "--dry-run", "--urunc", "0.7", hyperlight)
	if code != exitBadInput || stdout != "" || !strings.Contains(stderr, `unikernelType = "unikraft" on hypervisor = "hyperlight-unikraft": urunc 0.7 cannot run hyperlight-unikraft (it came in 0.8`) ||
		!strings.Contains(stderr, `set urunc = "0.8", or choose qemu`) || !strings.Contains(stderr, "--urunc RELEASE") {
		t.Errorf("--urunc 0.7: exit %d, %q, %s", code, stdout, stderr)
	}
	const path = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for release, want := range map[string]string{
		"0.8": `-append 'Unikraft  env.vars=[ ` + path + ` ] netdev.ip=/24::8.8.8.8    -- nginx -c /conf'`,
		"0.6": `-append 'nginx  env.vars=[ ` + path + ` ] netdev.ip=/24::8.8.8.8    -- -c /conf'`,
	} {
		code, stdout, stderr := cli(t, nil, "run", "--dry-run", "--accel", "tcg", "--urunc", release, qemu)
		if code != 0 || !strings.HasSuffix(strings.TrimSpace(stdout), want) {
			t.Errorf("--urunc %s: exit %d, %q, %s; want it to end %s", release, code, stdout, stderr, want)
		}
	}
	code, _, stderr = cli(t, nil, "run", "--urunc", "0.9", qemu)
	if code != exitBadInput || !strings.Contains(stderr, `--urunc: unknown urunc release "0.9"`) {
		t.Errorf("--urunc 0.9: exit %d, %s", code, stderr)
	}
}
