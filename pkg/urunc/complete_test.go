package urunc

import (
	"slices"
	"testing"
)

// TestGuestsOn: a known monitor narrows the guests to those it runs; an
// unknown or empty one narrows nothing; the result is a copy.
func TestGuestsOn(t *testing.T) {
	if got := GuestsOn("hvt"); !slices.Equal(got, []string{"rumprun", "mirage"}) {
		t.Errorf("GuestsOn(hvt) = %q", got)
	}
	if got := GuestsOn("qemu"); !slices.Equal(got, []string{"mirage", "mewz", "unikraft", "linux", "hermit", "freebsd"}) {
		t.Errorf("GuestsOn(qemu) = %q, want Guests order", got)
	}
	for _, m := range []string{"", "no-such"} {
		got := GuestsOn(m)
		if !slices.Equal(got, Guests) {
			t.Errorf("GuestsOn(%q) = %q, want every guest", m, got)
		}
		got[0] = "changed"
		if Guests[0] == "changed" {
			t.Fatal("GuestsOn returned Guests itself")
		}
	}
	for _, m := range MonitorNames() {
		for _, g := range GuestsOn(m) {
			if !Runs(g, m) {
				t.Errorf("GuestsOn(%s) offers %s, which it does not run", m, g)
			}
		}
	}
}

// TestMonitorsOffered: a known guest narrows the monitors to those that run
// it; an unknown or empty one narrows nothing.
func TestMonitorsOffered(t *testing.T) {
	if got := MonitorsOffered("linux"); !slices.Equal(got, []string{"qemu", "firecracker", "cloud-hypervisor"}) {
		t.Errorf("MonitorsOffered(linux) = %q", got)
	}
	for _, g := range []string{"", "no-such"} {
		if got := MonitorsOffered(g); !slices.Equal(got, MonitorNames()) {
			t.Errorf("MonitorsOffered(%q) = %q, want every monitor", g, got)
		}
	}
}
