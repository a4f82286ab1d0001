package image

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestChoosePlatform: architectures compare by their OCI names (kraft
// pkg's x86_64 is amd64, aarch64 arm64); a monitor picks the image for
// the os the Unikraft catalog names after it (qemu, fc), then linux; with
// no monitor, linux, else the only one; every miss is an *InvalidError
// listing what the index has.
func TestChoosePlatform(t *testing.T) {
	p := func(os, arch string) v1.Platform { return v1.Platform{OS: os, Architecture: arch} }
	catalog := []v1.Platform{p("qemu", "x86_64"), p("fc", "x86_64"), p("qemu", "arm64")}
	for _, tc := range []struct {
		name      string
		platforms []v1.Platform
		want      Want
		i         int
		err       string
	}{
		{"qemu x86_64 for amd64", catalog, Want{"amd64", "qemu"}, 0, ""},
		{"fc for firecracker", catalog, Want{"amd64", "firecracker"}, 1, ""},
		{"arch alias asked", catalog, Want{"x86_64", "firecracker"}, 1, ""},
		{"aarch64 is arm64", []v1.Platform{p("qemu", "aarch64")}, Want{"arm64", "qemu"}, 0, ""},
		{"linux after the monitor's os", []v1.Platform{p("linux", "amd64"), p("qemu", "amd64")}, Want{"amd64", "firecracker"}, 0, ""},
		{"the monitor's os before linux", []v1.Platform{p("linux", "amd64"), p("qemu", "amd64")}, Want{"amd64", "qemu"}, 1, ""},
		{"no monitor: linux", []v1.Platform{p("qemu", "amd64"), p("linux", "amd64")}, Want{"amd64", ""}, 1, ""},
		{"no monitor: the only one", []v1.Platform{p("qemu", "x86_64")}, Want{"amd64", ""}, 0, ""},
		{"hvt takes linux", []v1.Platform{p("linux", "amd64")}, Want{"amd64", "hvt"}, 0, ""},
		{"no monitor, two others", catalog, Want{"amd64", ""}, 0, "more than one other (qemu/x86_64, fc/x86_64): bunix cannot tell which to use; say which monitor"},
		{"no image for the monitor", catalog, Want{"amd64", "hvt"}, 0, "it has no image for amd64 for the hypervisor hvt: want os linux (it has: qemu/x86_64, fc/x86_64, qemu/arm64)"},
		{"no fc for arm64", catalog, Want{"arm64", "firecracker"}, 0, "want os fc or linux (it has: qemu/x86_64, fc/x86_64, qemu/arm64)"},
		{"no architecture", []v1.Platform{p("qemu", "riscv64")}, Want{"amd64", "qemu"}, 0, "it has no image for the architecture amd64 (it has: qemu/riscv64)"},
	} {
		i, err := ChoosePlatform(tc.platforms, tc.want)
		var inv *InvalidError
		switch {
		case tc.err == "" && (err != nil || i != tc.i):
			t.Errorf("%s: %d, %v; want %d", tc.name, i, err, tc.i)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || !errors.As(err, &inv)):
			t.Errorf("%s: %v; want %q", tc.name, err, tc.err)
		}
	}
}

// TestChoosePlatformHostile: what an index names as platforms reaches the
// error only clipped and quoted when it is long or unprintable (a
// registry's escape sequence never reaches the terminal), and a long
// index is listed in part.
func TestChoosePlatformHostile(t *testing.T) {
	escape := v1.Platform{OS: "qemu\x1b]0;owned\x07", Architecture: "riscv64"}
	long := v1.Platform{OS: strings.Repeat("q", 10000), Architecture: "riscv64"}
	many := []v1.Platform{escape, long}
	for range MaxManifests {
		many = append(many, v1.Platform{OS: "qemu", Architecture: "riscv64"})
	}
	_, err := ChoosePlatform(many, Want{"amd64", "qemu"})
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if strings.ContainsAny(msg, "\x1b\x07") || len(msg) > 2000 || !strings.Contains(msg, `"qemu\x1b]0;owned\a/riscv64"`) || !strings.Contains(msg, fmt.Sprintf("and %d more", MaxManifests+2-maxPlatformsListed)) {
		t.Errorf("%d bytes: %.600q", len(msg), msg)
	}
}
