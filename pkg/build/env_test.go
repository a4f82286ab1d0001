package build

import (
	"strings"
	"testing"
	"time"
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
			if k == "SOURCE_DATE_EPOCH" {
				return tc.value
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
