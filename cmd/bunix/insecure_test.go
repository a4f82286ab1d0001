package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
)

// mirrorHost names a registry on 127.0.0.1 the way a mirror off loopback
// is named: go-containerregistry takes an IPv4-mapped IPv6 address for a
// remote host, so it speaks HTTPS to it unless told otherwise, while the
// connection still reaches the loopback registry.
func mirrorHost(reg *testenv.RegistryServer) string {
	return "[::ffff:" + strings.Replace(reg.Addr, ":", "]:", 1)
}

// TestInsecure: every command that talks to a registry (prefetch,
// convert, build, validate, inspect, push) fails against a plain-HTTP
// registry it takes for a remote one, saying so, and reaches it with
// --insecure; a from with insecure = true needs no flag, and convert
// --insecure writes it.
func TestInsecure(t *testing.T) {
	reg := testenv.Registry(t)
	reg.PushIndex(t, "unikraft.org/nginx:1.15", testenv.CatalogIndex(t, "", testenv.CatalogPlatform{OS: "qemu", Kernel: "k\n"}))
	ref := mirrorHost(reg) + "/unikraft.org/nginx:1.15"
	dir := t.TempDir()

	code, pre, stderr := cli(t, nil, "prefetch", ref)
	if code != 1 || !strings.Contains(stderr, "server gave HTTP response to HTTPS client") {
		t.Errorf("prefetch without --insecure: exit %d %s", code, stderr)
	}
	code, pre, stderr = cli(t, nil, "prefetch", "--insecure", "--hypervisor", "qemu", ref)
	if code != 0 || !strings.Contains(pre, "ref = \""+ref+"\";") {
		t.Fatalf("prefetch --insecure: exit %d %s %s", code, pre, stderr)
	}
	from := strings.TrimSpace(pre[strings.Index(pre, "{"):])
	digest := from[strings.Index(from, "sha256:") : strings.Index(from, "sha256:")+71]
	hash := from[strings.Index(from, "sha256-") : strings.Index(from, "sha256-")+51]

	js := func(insecure string) string {
		return `{"name":"urunc/nginx","from":{"ref":"` + ref + `","digest":"` + digest + `","hash":"` + hash + `"` + insecure + `},"annotations":{"unikernelType":"unikraft","hypervisor":"qemu"}}`
	}
	os.WriteFile(filepath.Join(dir, "plain.json"), []byte(js("")), 0o644)
	os.WriteFile(filepath.Join(dir, "insecure.json"), []byte(js(`,"insecure":true`)), 0o644)
	for _, tc := range [][]string{
		{"build", "-f", filepath.Join(dir, "plain.json"), "-o", filepath.Join(dir, "out.tar")},
		{"validate", filepath.Join(dir, "plain.json")},
		{"inspect", ref},
		{"convert", writeFiles(t, map[string]string{"Containerfile": "FROM " + ref + "\nLABEL com.urunc.unikernel.unikernelType=unikraft\nLABEL com.urunc.unikernel.hypervisor=qemu\n"}) + "/Containerfile"},
	} {
		if code, _, stderr := cli(t, nil, tc...); code == 0 || !strings.Contains(stderr, "server gave HTTP response to HTTPS client") {
			t.Errorf("%s without --insecure: exit %d %s", tc[0], code, stderr)
		}
		tc = append([]string{tc[0], "--insecure"}, tc[1:]...)
		code, stdout, stderr := cli(t, nil, tc...)
		if code != 0 {
			t.Errorf("%q: exit %d %s", tc, code, stderr)
		}
		if tc[0] == "convert" && !strings.Contains(stdout, "insecure = true;") {
			t.Errorf("convert --insecure does not say insecure = true in from:\n%s", stdout)
		}
	}
	if code, _, stderr := cli(t, nil, "build", "-f", filepath.Join(dir, "insecure.json"), "-o", filepath.Join(dir, "out2.tar")); code != 0 {
		t.Errorf("build of a from with insecure = true: exit %d %s", code, stderr)
	}
	if code, _, stderr := cli(t, nil, "push", filepath.Join(dir, "out2.tar"), mirrorHost(reg)+"/urunc/nginx:pushed"); code == 0 || !strings.Contains(stderr, "server gave HTTP response to HTTPS client") {
		t.Errorf("push without --insecure: exit %d %s", code, stderr)
	}
	if code, _, stderr := cli(t, nil, "push", "--insecure", filepath.Join(dir, "out2.tar"), mirrorHost(reg)+"/urunc/nginx:pushed"); code != 0 {
		t.Errorf("push --insecure: exit %d %s", code, stderr)
	}
}
