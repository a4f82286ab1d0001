package args

import (
	"reflect"
	"testing"
)

func TestSplitCmdline(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"redis-server /data/conf/redis.conf", []string{"redis-server", "/data/conf/redis.conf"}},
		{"  a\t b  ", []string{"a", "b"}},
		{"", nil},
		{`a 'b c' "d e"`, []string{"a", "b c", "d e"}},
		{`'$HOME' "$x" \$y`, []string{"$HOME", "$x", "$y"}},
		{`"a\"b" 'a\b' "\\"`, []string{`a"b`, `a\b`, `\`}},
		{`"a\nb"`, []string{`a\nb`}},
		{`x''y "" ''`, []string{"xy", "", ""}},
		{"`id`", []string{"`id`"}},
		{`a\ b`, []string{"a b"}},
	} {
		got, err := SplitCmdline(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("SplitCmdline(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{`'a`, `"a`, `a\`, `"a\"`} {
		if got, err := SplitCmdline(in); err == nil {
			t.Errorf("SplitCmdline(%q) = %q, want an error", in, got)
		}
	}
}
