package urunc

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestJSONRoundTrip(t *testing.T) {
	in := map[string]string{"binary": "/unikernel/kernel", "cmdline": `a "b" $c ` + "`d`", "useDMBlock": "false"}
	data := EncodeJSON(in)
	var raw map[string]string
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	if raw["com.urunc.unikernel.cmdline"] != base64.StdEncoding.EncodeToString([]byte(in["cmdline"])) {
		t.Errorf("urunc.json = %s", data)
	}
	if raw["com.urunc.unikernel.binary"] != "L3VuaWtlcm5lbC9rZXJuZWw=" {
		t.Errorf("binary is not standard padded base64: %q", raw["com.urunc.unikernel.binary"])
	}
	out, err := DecodeJSON(data)
	if err != nil || !reflect.DeepEqual(in, out) {
		t.Errorf("DecodeJSON = %v, %v; want %v", out, err, in)
	}
	if _, err := DecodeJSON([]byte(`{"com.urunc.unikernel.binary":"%%"}`)); err == nil {
		t.Error("bad base64 accepted")
	}
}

func TestMonitorTable(t *testing.T) {
	for _, tc := range []struct {
		guest, monitor string
		ok             bool
	}{
		{"rumprun", "hvt", true}, {"mirage", "spt", true}, {"unikraft", "qemu", true},
		{"linux", "cloud-hypervisor", true}, {"unikraft", "hyperlight-unikraft", true},
		{"rumprun", "qemu", false}, {"mewz", "firecracker", false}, {"hermit", "firecracker", false},
	} {
		if Runs(tc.guest, tc.monitor) != tc.ok {
			t.Errorf("Runs(%s, %s) = %v", tc.guest, tc.monitor, !tc.ok)
		}
	}
	if got := MonitorsFor("linux"); !reflect.DeepEqual(got, []string{"qemu", "firecracker", "cloud-hypervisor"}) {
		t.Errorf("MonitorsFor(linux) = %v", got)
	}
	for m := range Monitors {
		found := false
		for _, n := range MonitorNames() {
			found = found || n == m
		}
		if !found {
			t.Errorf("monitor %s missing from MonitorNames", m)
		}
	}
}

// TestGuestTables: every table that names guests or monitors agrees with
// Guests and MonitorNames, so that adding a guest is a change to this
// package's tables alone, and one the tests check is complete.
func TestGuestTables(t *testing.T) {
	known := map[string]bool{}
	for _, g := range Guests {
		if known[g] {
			t.Errorf("guest %s listed twice", g)
		}
		known[g] = true
		if len(MonitorsFor(g)) == 0 {
			t.Errorf("guest %s: no monitor runs it", g)
		}
		types, ok := GuestRootfs[g]
		if !ok {
			t.Errorf("guest %s missing from GuestRootfs", g)
		}
		for _, typ := range types {
			if !slices.Contains(RootfsTypes, typ) {
				t.Errorf("GuestRootfs[%s] has unknown type %q", g, typ)
			}
		}
		if _, fs := GuestFSTypes[g]; fs != (slices.Contains(types, RootfsBlock) && !RawBlock(g)) {
			t.Errorf("guest %s: GuestFSTypes (%v) disagrees with GuestRootfs %v on block", g, fs, types)
		}
		if d := DefaultRootfs(g); (d == "") != (len(types) == 0) || d != "" && !slices.Contains(types, d) {
			t.Errorf("DefaultRootfs(%s) = %q, not one of %v", g, d, types)
		}
	}
	for m, gs := range Monitors {
		for _, g := range gs {
			if !known[g] {
				t.Errorf("Monitors[%s] runs %s, which is not in Guests", m, g)
			}
		}
	}
	for _, table := range []map[string][]string{GuestRootfs, GuestFSTypes} {
		for g := range table {
			if !known[g] {
				t.Errorf("table entry for %s, which is not in Guests", g)
			}
		}
	}
	if len(MonitorNames()) != len(Monitors) {
		t.Errorf("MonitorNames() = %v, Monitors has %d", MonitorNames(), len(Monitors))
	}
	for _, tc := range []struct{ guest, want string }{
		{"mewz", ""}, {"unikraft", RootfsInitrd}, {"linux", RootfsInitrd}, {"hermit", RootfsInitrd},
		{"rumprun", RootfsBlock}, {"mirage", RootfsBlock}, {"freebsd", RootfsBlock}, {"nosuch", ""},
	} {
		if got := DefaultRootfs(tc.guest); got != tc.want {
			t.Errorf("DefaultRootfs(%s) = %q, want %q", tc.guest, got, tc.want)
		}
	}
	for spelling, arch := range Architectures {
		if !slices.Contains(ArchitectureNames, arch) {
			t.Errorf("Architectures[%s] = %s, not in ArchitectureNames", spelling, arch)
		}
	}
	if _, ok := Architectures["arm"]; ok {
		t.Error(`"arm" (32-bit) accepted: urunc runs no 32-bit arm guests`)
	}
}

func TestDecodeJSONRefuses(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"binary":"L2E=","com.urunc.unikernel.binary":"L2I="}`, `key "binary" is given both as "binary" and "com.urunc.unikernel.binary"`},
		{`null`, "null, want an object"},
		{`{"a":1}`, "cannot unmarshal number"},
		{`{"com.urunc.unikernel.binary":"` + strings.Repeat("%", 200) + `"}`, "... (200 bytes) is not standard base64"},
		{`"` + strings.Repeat("x", MaxJSONSize) + `"`, "more than the 1048576 it may hold"},
	} {
		if _, err := DecodeJSON([]byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%.60s: got %v, want %q", tc.in, err, tc.want)
		}
	}
}

// FuzzDecodeJSON decodes /urunc.json contents, as inspect reads them from
// images other tools wrote: nothing may panic, and what decodes encodes and
// decodes back to the same settings.
func FuzzDecodeJSON(f *testing.F) {
	f.Add(EncodeJSON(map[string]string{"binary": "/unikernel/kernel", "cmdline": "a b", "unikernelType": "unikraft"}))
	f.Add([]byte(`{"binary":"L2E=","com.urunc.unikernel.binary":"L2I="}`))
	f.Add([]byte(`{"x":""}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"com.urunc.unikernel.binary":"not base64"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeJSON(data)
		if err != nil {
			return
		}
		// What decodes encodes back to the same settings.
		again, err := DecodeJSON(EncodeJSON(m))
		if err != nil || !reflect.DeepEqual(again, m) {
			t.Fatalf("round trip of %v: %v, %v", m, again, err)
		}
	})
}

func TestKeyDocs(t *testing.T) {
	for _, k := range Keys {
		if KeyDocs[k] == "" {
			t.Errorf("key %s has no KeyDocs entry", k)
		}
	}
	if len(KeyDocs) != len(Keys) {
		t.Errorf("KeyDocs has %d entries, Keys %d", len(KeyDocs), len(Keys))
	}
}
