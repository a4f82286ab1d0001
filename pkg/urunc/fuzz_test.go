package urunc

import (
	"maps"
	"testing"
)

// FuzzDecodeJSON decodes /urunc.json contents, as inspect reads them from
// images other tools wrote. What decodes must encode and decode back to the
// same settings, and nothing may panic.
func FuzzDecodeJSON(f *testing.F) {
	f.Add(EncodeJSON(map[string]string{Binary: "/unikernel/kernel", Cmdline: "hello 'a b'", Hypervisor: "qemu", UnikernelType: "unikraft"}))
	f.Add([]byte(`{"com.urunc.unikernel.binary":"L2s=","other":""}`))
	f.Add([]byte(`{"com.urunc.unikernel.binary":"not base64"}`))
	f.Add([]byte(`{"a":"YQ==","com.urunc.unikernel.a":"Yg=="}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		settings, err := DecodeJSON(data)
		if err != nil {
			return
		}
		again, err := DecodeJSON(EncodeJSON(settings))
		if err != nil || !maps.Equal(again, settings) {
			t.Errorf("DecodeJSON(%q) = %q; encoded and decoded again: %q, %v", data, settings, again, err)
		}
	})
}
