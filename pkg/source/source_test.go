package source

import (
	"errors"
	"strings"
	"testing"

	"github.com/nubificus/bunix/pkg/registry"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want int64
	}{
		{"1", 1}, {"1048576", 1 << 20}, {"8G", 8 << 30}, {"8g", 8 << 30}, {"512M", 512 << 20},
		{"512MiB", 512 << 20}, {"2GB", 2 << 30}, {"1K", 1024}, {"1T", 1 << 40},
		{"0", 0}, {"-1", 0}, {"", 0}, {"G", 0}, {"8X", 0}, {"8GG", 0}, {"1.5G", 0}, {" 8G", 0}, {"9999999999T", 0},
	} {
		got, err := ParseSize(tc.s)
		if tc.want == 0 && err == nil || tc.want != 0 && (err != nil || got != tc.want) {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.s, got, err, tc.want)
		}
	}
}

func TestInputFromEnv(t *testing.T) {
	in, err := InputFromEnv(nil, func(k string) string { return map[string]string{LimitEnv: "2M"}[k] })
	if err != nil || in.Limit != 2<<20 {
		t.Errorf("InputFromEnv = %+v, %v", in, err)
	}
	_, err = InputFromEnv(nil, func(k string) string { return map[string]string{LimitEnv: "lots"}[k] })
	var ee *registry.EnvError
	if !errors.As(err, &ee) || !registry.IsUserError(err) || !strings.Contains(err.Error(), `BUNIX_STDIN_LIMIT = "lots"`) {
		t.Errorf("InputFromEnv of a bad limit = %v", err)
	}
}

// FuzzParseSize: ParseSize never panics, and a size it accepts is more
// than 0 and is what the number and the suffix say.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"8G", "512MiB", "1", "0", "-1", "9223372036854775807", "8589934592T", "k", "1kB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err == nil && n <= 0 {
			t.Errorf("ParseSize(%q) = %d", s, n)
		}
	})
}
