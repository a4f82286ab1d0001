package args

import (
	"strings"
	"testing"
)

func TestFrom(t *testing.T) {
	digest := "sha256:" + strings.Repeat("ab", 32)
	hash := "sha256-" + strings.Repeat("A", 43) + "="
	for _, tc := range []struct {
		file, src string
		want      From
		err       string
	}{
		{"args.json", `{"from":"./base.tar"}`, From{Path: "/src/base.tar"}, ""},
		{"args.json", `{"from":"/abs/layout"}`, From{Path: "/abs/layout"}, ""},
		{"args.json", `{"from":"r.io/a/b:1@` + digest + `"}`, From{Ref: "r.io/a/b:1", Digest: digest}, ""},
		{"args.json", `{"from":"r.io/a/b:1"}`, From{Ref: "r.io/a/b:1"}, ""},
		{"args.json", `{"from":{"ref":"r.io/a:1","digest":"` + digest + `","hash":"` + hash + `"}}`, From{Ref: "r.io/a:1", Digest: digest, Hash: hash}, ""},
		{"args.hcl", "from = {\n  ref = \"r.io/a:1\"\n  digest = \"" + digest + "\"\n  hash = \"" + hash + "\"\n}\n", From{Ref: "r.io/a:1", Digest: digest, Hash: hash}, ""},
		{"args.json", `{"from":{"ref":"r.io/a:1","digest":"` + digest + `","tag":"x"}}`, From{}, `from.tag: unknown field`},
		{"args.json", `{"from":{"ref":"r.io/a:1"}}`, From{}, `from.digest: missing`},
		{"args.json", `{"from":{"ref":"r.io/a:1@` + digest + `","digest":"` + digest + `","hash":"` + hash + `"}}`, From{}, `from.ref = "r.io/a:1@sha256:`},
		{"args.json", `{"from":{"ref":"r.io/a:1","digest":"` + digest + `","hash":"sha256-abc"}}`, From{}, `from.hash = "sha256-abc": not a Nix hash`},
		{"args.json", `{"from":"r.io/a:1@sha512:00"}`, From{}, `from = "sha512:00": not a digest`},
		{"args.json", `{"from":42}`, From{}, `from = 42: must be an image file`},
		{"args.json", `{"from":"r.io/a/../b:1"}`, From{}, `from = "r.io/a/../b:1": not a valid image reference (want registry/repo:tag): path component ".." must be`},
		{"args.json", `{"from":{"ref":"r.io:99999/a:1","digest":"` + digest + `","hash":"` + hash + `"}}`, From{}, `from.ref = "r.io:99999/a:1": not a valid image reference (want registry/repo:tag): registry port "99999"`},
		{"args.json", `{"from":{"ref":"r.io/a:1","digest":"` + digest + `","hash":"` + hash + `","insecure":true}}`, From{Ref: "r.io/a:1", Digest: digest, Hash: hash, Insecure: true}, ""},
		{"args.json", `{"from":{"ref":"r.io/a:1","digest":"` + digest + `","insecure":"yes"}}`, From{}, `from.insecure = "yes": must be true or false`},
	} {
		a, err := decodeFile([]byte(tc.src), tc.file)
		var f *From
		if err == nil {
			f, err = a.Base()
		}
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !IsUserError(err) {
				t.Errorf("%s: got %v, want %q", tc.src, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.src, err)
			continue
		}
		f.Where = ""
		if *f != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.src, *f, tc.want)
		}
	}
}

func decodeFile(src []byte, file string) (*Args, error) {
	if strings.HasSuffix(file, ".hcl") {
		return DecodeHCL(src, file, "/src")
	}
	return DecodeJSON(src, file, "/src")
}

// TestUrunitImageInsecure: urunit = { ref; digest; hash; insecure; } takes
// insecure as from and the other images do (its message lists it), and
// checks it the same way.
func TestUrunitImageInsecure(t *testing.T) {
	digest := "sha256:" + strings.Repeat("ab", 32)
	a, err := decodeFile([]byte(`{"urunit":{"ref":"mirror.lan/urunit:1","digest":"`+digest+`","insecure":true}}`), "args.json")
	if err != nil {
		t.Fatal(err)
	}
	if u := a.UrunitImage; u == nil || !u.Insecure || u.Ref != "mirror.lan/urunit:1" || u.Digest != digest {
		t.Errorf("UrunitImage %+v, want mirror.lan/urunit:1, its digest, insecure", u)
	}
	if a, err = decodeFile([]byte(`{"urunit":{"ref":"mirror.lan/urunit:1","digest":"`+digest+`","insecure":"yes"}}`), "args.json"); err == nil {
		_, err = a.Resolve()
	}
	if want := `urunit.insecure = "yes": must be true or false`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want %q", err, want)
	}
}

// TestFromAttrsNeedHash: { ref; digest; } without hash is refused, as
// nix-build's lib.pullImage refuses it: both front ends take one rule.
func TestFromAttrsNeedHash(t *testing.T) {
	digest := "sha256:" + strings.Repeat("ab", 32)
	for _, src := range []string{`{"from":{"ref":"r.io/a:1","digest":"` + digest + `"}}`,
		`{"name":"x","contents":[{"image":{"ref":"r.io/a:1","digest":"` + digest + `"},"source":"/k","target":"/k"}]}`} {
		a, err := decodeFile([]byte(src), "args.json")
		if err == nil {
			_, err = a.Resolve()
		}
		if err == nil || !strings.Contains(err.Error(), `.hash: missing`) || !IsUserError(err) {
			t.Errorf("%s: %v, want hash missing", src, err)
		}
	}
}
