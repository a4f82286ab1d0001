package urunc

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
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
