package args

import (
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
