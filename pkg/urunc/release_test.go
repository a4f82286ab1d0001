package urunc

import (
	"slices"
	"strings"
	"testing"
)

// TestParseRelease: the names the table has, with v and a patch number;
// anything else is an error listing them.
func TestParseRelease(t *testing.T) {
	for in, want := range map[string]string{"0.5": "0.5", "0.7": "0.7", "v0.7.0": "0.7", "0.8.1": "0.8", "main": "main"} {
		r, err := ParseRelease(in)
		if err != nil || r.String() != want {
			t.Errorf("ParseRelease(%q) = %v, %v; want %s", in, r, err, want)
		}
	}
	for _, in := range []string{"", "0.4", "0.9", "1", "0.7.x", "latest", "0.7."} {
		_, err := ParseRelease(in)
		if err == nil || !strings.Contains(err.Error(), `"0.5", "0.6", "0.7", "0.8"`) {
			t.Errorf("ParseRelease(%q) error = %v", in, err)
		}
	}
	if DefaultRelease().String() != "0.8" || !slices.Equal(ReleaseNames(), []string{"0.5", "0.6", "0.7", "0.8", "main"}) {
		t.Errorf("default %s, names %q", DefaultRelease(), ReleaseNames())
	}
}

// TestReleaseRows checks the rows ../shared/urunc.md measured or read from
// the pull requests.
func TestReleaseRows(t *testing.T) {
	r07, _ := ParseRelease("0.7")
	r08, _ := ParseRelease("0.8")
	main, _ := ParseRelease("main")
	r05, _ := ParseRelease("0.5")
	if got := r07.Guests(); !slices.Equal(got, []string{"rumprun", "mirage", "mewz", "unikraft", "linux"}) {
		t.Errorf("0.7 guests %q", got)
	}
	if got := r07.Monitors(); !slices.Equal(got, []string{"qemu", "firecracker", "hvt", "spt"}) {
		t.Errorf("0.7 monitors %q", got)
	}
	for _, tc := range []struct {
		r              Release
		guest, monitor string
		ok             bool
	}{
		{r07, "linux", "qemu", true}, {r07, "linux", "cloud-hypervisor", false}, {r07, "unikraft", "hyperlight-unikraft", false},
		{r08, "linux", "cloud-hypervisor", true}, {r08, "unikraft", "hyperlight-unikraft", true},
		{r08, "freebsd", "qemu", false}, {main, "freebsd", "qemu", true}, {r08, "rumprun", "qemu", false},
	} {
		if tc.r.Runs(tc.guest, tc.monitor) != tc.ok {
			t.Errorf("%s Runs(%s, %s) = %v", tc.r, tc.guest, tc.monitor, !tc.ok)
		}
	}
	if r07.ReadsLabels() || !r08.ReadsLabels() || !r08.CmdlineFallback() || main.CmdlineFallback() {
		t.Error("labels from 0.8, cmdline fallback until 0.8")
	}
	if !r05.ReadsUseDMBlock() || r07.ReadsUseDMBlock() {
		t.Error("useDMBlock read by 0.5 only")
	}
	if r05.AppendsToInitrd("linux") || !r07.AppendsToInitrd("linux") || r07.AppendsToInitrd("unikraft") || !r08.AppendsToInitrd("unikraft") {
		t.Error("initrd appends: linux from 0.7, unikraft from 0.8")
	}
	if r05.UnikraftArgv0() || !r07.UnikraftArgv0() {
		t.Error("Unikraft argv[0] from 0.7")
	}
	if !r08.AtLeast(r07) || r07.AtLeast(r08) || !main.AtLeast(r08) {
		t.Error("AtLeast order")
	}
	// Every guest and monitor the package knows comes in some release.
	for _, n := range append(slices.Clone(Guests), MonitorNames()...) {
		if Since(n).IsZero() {
			t.Errorf("%s is in no release", n)
		}
	}
}

// TestReleaseProblem: the refusal names the release, when it came, and
// what to do.
func TestReleaseProblem(t *testing.T) {
	r07, _ := ParseRelease("0.7")
	r08, _ := ParseRelease("0.8")
	main, _ := ParseRelease("main")
	want := `urunc 0.7 cannot run cloud-hypervisor (it came in 0.8 with PR #393); set urunc = "0.8", or choose qemu or firecracker`
	if got := r07.Problem("linux", "cloud-hypervisor"); got != want {
		t.Errorf("Problem = %q\nwant      %q", got, want)
	}
	if got := r08.Problem("freebsd", "qemu"); !strings.Contains(got, "urunc 0.8 cannot run a freebsd guest") || !strings.Contains(got, `set urunc = "main"`) || !strings.Contains(got, "PR #538") {
		t.Errorf("Problem(freebsd) = %q", got)
	}
	if got := main.Problem("freebsd", "qemu"); got != "" {
		t.Errorf("main Problem(freebsd) = %q", got)
	}
	if got := Unreleased("freebsd"); !strings.Contains(got, "PR #538") {
		t.Errorf("Unreleased(freebsd) = %q", got)
	}
	if Unreleased("linux") != "" || r08.Problem("linux", "qemu") != "" || r07.Problem("no-such", "qemu") != "" {
		t.Error("no problem expected")
	}
}
