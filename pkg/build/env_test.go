package build

import (
	"strings"
	"testing"
	"time"

	"github.com/nubificus/bunix/pkg/registry"
)

func TestFromEnv(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  time.Time
		err   string
	}{
		{"", time.Time{}, ""},
		{"1700000000", time.Unix(1700000000, 0).UTC(), ""},
		{"0", time.Unix(0, 0).UTC(), ""},
		{"-1", time.Time{}, `environment: SOURCE_DATE_EPOCH = "-1": want a non-negative number`},
		{"yesterday", time.Time{}, `SOURCE_DATE_EPOCH = "yesterday"`},
	} {
		opts, err := FromEnv(func(k string) string {
			switch k {
			case "SOURCE_DATE_EPOCH":
				return tc.value
			case registry.TimeoutEnv:
				return ""
			}
			return "bad"
		})
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !IsUserError(err) {
				t.Errorf("%q: %v, want a user error with %q", tc.value, err, tc.err)
			}
			continue
		}
		var o options
		for _, opt := range opts {
			opt(&o)
		}
		if err != nil || !o.created.Equal(tc.want) {
			t.Errorf("%q: created %v (%v), want %v", tc.value, o.created, err, tc.want)
		}
	}
}

// TestFromEnvRegistryTimeout: BUNIX_REGISTRY_TIMEOUT sets how a base is
// pulled; a bad value is a user error naming it.
func TestFromEnvRegistryTimeout(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == registry.TimeoutEnv {
				return v
			}
			return ""
		}
	}
	opts, err := FromEnv(env("90s"))
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if err != nil || len(o.registry) != 1 {
		t.Errorf("FromEnv(90s): %d registry options, %v", len(o.registry), err)
	}
	_, err = FromEnv(env("soon"))
	if err == nil || !IsUserError(err) || !strings.Contains(err.Error(), `environment: BUNIX_REGISTRY_TIMEOUT = "soon": want a duration`) {
		t.Errorf("FromEnv(soon) = %v", err)
	}
}
