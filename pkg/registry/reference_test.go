package registry

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

func TestReference(t *testing.T) {
	for _, tc := range []struct {
		arg, ref string
		ok       bool
	}{
		{"docker://redis", "redis", true},
		{"docker://./image.tar", "./image.tar", true},
		{"127.0.0.1:5000/urunc/redis:test", "127.0.0.1:5000/urunc/redis:test", true},
		{"localhost/x:1", "localhost/x:1", true},
		{"ghcr.io/org/app@sha256:0123", "ghcr.io/org/app@sha256:0123", true},
		{"registry.example.com/urunc/redis:test", "registry.example.com/urunc/redis:test", true},
		// A typo of a file name, and the rest: files.
		{"imag.tar", "", false},
		{"image.oci.tar", "", false},
		{"redis", "", false},
		{"redis:7", "", false},
		{"urunc/redis:test", "", false},
		{"ghcr.io/org/app", "", false},
		{"result.d/image.tar", "", false},
		{"out.d/image:v1/x", "", false},
		{"./x:1", "", false},
		{"../a.b/x:1", "", false},
		{"/tmp/x:1", "", false},
		{"-", "", false},
		{"a.b/", "", false},
	} {
		ref, ok := Reference(tc.arg)
		if ref != tc.ref || ok != tc.ok {
			t.Errorf("Reference(%q) = %q, %v; want %q, %v", tc.arg, ref, ok, tc.ref, tc.ok)
		}
	}
}

// FuzzReference: what Reference takes for an explicit reference without
// the docker:// prefix is given back unchanged and, if it parses at all,
// names its own registry host and a tag or digest: never an implied
// Docker Hub or "latest".
func FuzzReference(f *testing.F) {
	for _, s := range []string{"imag.tar", "127.0.0.1:5000/urunc/redis:test", "docker://x", "a.b/c@sha256:00", "localhost/x:1", "a.b/c:d/e", ".a/b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref, ok := Reference(s)
		if !ok {
			if ref != "" {
				t.Fatalf("Reference(%q) = %q, false", s, ref)
			}
			return
		}
		if strings.HasPrefix(s, Scheme) {
			return
		}
		if ref != s {
			t.Fatalf("Reference(%q) = %q", s, ref)
		}
		r, err := name.ParseReference(s, name.StrictValidation)
		if err != nil {
			if _, lax := name.ParseReference(s); lax == nil {
				t.Fatalf("Reference(%q) is explicit, but parses only with defaults: %v", s, err)
			}
			return
		}
		host, _, _ := strings.Cut(s, "/")
		if r.Context().RegistryStr() != host && !(host == "docker.io" || host == "index.docker.io") {
			t.Fatalf("Reference(%q): registry %q, not %q", s, r.Context().RegistryStr(), host)
		}
	})
}

// TestRefOnly: a command that reads registries only takes a reference, or
// docker://REF, never a path, even one a registry could resolve.
func TestRefOnly(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile("image.tar", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ arg, ref string }{
		{"redis:7", "redis:7"},
		{"unikraft.org/nginx:1.15", "unikraft.org/nginx:1.15"},
		{"docker://image.tar", "image.tar"},
		{"docker:///dev/zero", "/dev/zero"},
		{"/dev/zero", ""},
		{"./x", ""},
		{"../x:1", ""},
		{"~/x", ""},
		{".", ""},
		{"image.tar", ""},
	} {
		ref, err := RefOnly(tc.arg)
		if tc.ref != "" && (ref != tc.ref || err != nil) {
			t.Errorf("RefOnly(%q) = %q, %v; want %q", tc.arg, ref, err, tc.ref)
		}
		if tc.ref == "" && (!errors.Is(err, ErrBadReference) || !IsRefused(err) || !strings.Contains(err.Error(), "it is a file path")) {
			t.Errorf("RefOnly(%q) = %q, %v; want a refusal", tc.arg, ref, err)
		}
	}
}

func TestParseTimeout(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want time.Duration
	}{
		{"90", 90 * time.Second}, {"90s", 90 * time.Second}, {"5m", 5 * time.Minute}, {"1m30s", 90 * time.Second}, {"300ms", 300 * time.Millisecond},
		{"0", 0}, {"0s", 0}, {"-5s", 0}, {"", 0}, {"soon", 0}, {"99999999999999999999", 0}, {"9223372036854775807", 0},
	} {
		got, err := ParseTimeout(tc.s)
		if tc.want == 0 && err == nil || tc.want != 0 && (err != nil || got != tc.want) {
			t.Errorf("ParseTimeout(%q) = %v, %v; want %v", tc.s, got, err, tc.want)
		}
	}
	opts, err := FromEnv(func(string) string { return "" })
	if err != nil || opts != nil {
		t.Errorf("FromEnv of nothing = %v, %v", opts, err)
	}
	_, err = FromEnv(func(string) string { return "soon" })
	var ee *EnvError
	if !errors.As(err, &ee) || err.Error() != `environment: BUNIX_REGISTRY_TIMEOUT = "soon": want a duration such as 90s or 5m, or a number of seconds` {
		t.Errorf("FromEnv of a bad timeout = %v", err)
	}
}

// FuzzParseTimeout: ParseTimeout never panics, and a timeout it accepts
// is more than zero.
func FuzzParseTimeout(f *testing.F) {
	for _, s := range []string{"90", "90s", "5m", "-1s", "0", "9223372036854775807", "4611686018", "1e3s", "soon"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := ParseTimeout(s); err == nil && d <= 0 {
			t.Errorf("ParseTimeout(%q) = %v", s, d)
		}
	})
}
