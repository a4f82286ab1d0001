package main

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// FuzzDecodeSettings feeds decodeSettings arbitrary urunc.json bytes and a
// label: it never panics, and what it accepts decodes back to the values
// it returns, each agreeing with the label.
func FuzzDecodeSettings(f *testing.F) {
	enc := func(m map[string]string) []byte {
		e := map[string]string{}
		for k, v := range m {
			e[k] = base64.StdEncoding.EncodeToString([]byte(v))
		}
		b, _ := json.Marshal(e)
		return b
	}
	f.Add(enc(map[string]string{labelPrefix + "unikernelType": "linux", labelPrefix + "binary": "/k"}), "binary", "/k")
	f.Add(enc(map[string]string{"binary": "/k", labelPrefix + "binary": "/k"}), "binary", "/k")
	f.Add([]byte(`{"com.urunc.unikernel.binary":"L2s"}`), "binary", "/k")
	f.Add([]byte(`[]`), "", "")
	f.Fuzz(func(t *testing.T, raw []byte, key, label string) {
		labels := map[string]string{labelPrefix + key: label}
		got, err := decodeSettings(raw, labels)
		if err != nil {
			return
		}
		var encoded map[string]string
		if err := json.Unmarshal(raw, &encoded); err != nil {
			t.Fatalf("accepted %q, which is not a JSON object of strings: %v", raw, err)
		}
		for k, v := range encoded {
			short := strings.TrimPrefix(k, labelPrefix)
			if base64.StdEncoding.EncodeToString([]byte(got[short])) != v {
				t.Errorf("%s: %q decoded to %q", k, v, got[short])
			}
		}
		if v, ok := got[key]; ok && v != label {
			t.Errorf("%s = %q disagrees with the label %q", key, v, label)
		}
	})
}

// TestQemuArgs checks the command line for the example's image: urunc's,
// with TCG in place of KVM when asked.
func TestQemuArgs(t *testing.T) {
	g := &guest{
		settings: map[string]string{"unikernelType": "linux", "hypervisor": "qemu", "binary": "/unikernel/vmlinuz", "initrd": "/unikernel/rootfs.cpio"},
		args:     []string{"/init", "two words"},
		env:      []string{defaultPath},
		files:    map[string]string{"/unikernel/vmlinuz": "/tmp/k", "/unikernel/rootfs.cpio": "/tmp/i"},
	}
	for accel, want := range map[string]string{
		"kvm": "-m 256M -L /usr/share/qemu -cpu host -enable-kvm -display none -vga none -monitor null -serial stdio -kernel /tmp/k -nic none -initrd /tmp/i -no-reboot -nodefaults -append 'panic=-1 console=ttyS0 root=/dev/ram0 rw " + defaultPath + " rdinit=/init -- '\\''two words'\\'''",
		"tcg": "-m 256M -L /usr/share/qemu -cpu max -accel tcg -display none",
	} {
		g.args = []string{"/init", "two words"}
		argv, err := qemuArgs(g, accel)
		if err != nil {
			t.Fatal(err)
		}
		if got := shellQuote(argv); !strings.HasPrefix(got, want) {
			t.Errorf("%s:\n got %s\nwant %s", accel, got, want)
		}
	}
	g.settings["unikernelType"] = "unikraft"
	if _, err := qemuArgs(g, "tcg"); err == nil || !strings.Contains(err.Error(), `unikernelType "unikraft"`) {
		t.Errorf("a unikraft guest: %v", err)
	}
}
