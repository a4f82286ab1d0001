package inspect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/nubificus/bunix/pkg/image"
	"github.com/nubificus/bunix/pkg/output"
)

// TestProcess: the config's entrypoint, cmd, env and working directory
// reach the JSON report as they are, and the text report's process
// section quoted, escaped and capped.
func TestProcess(t *testing.T) {
	many := make([]string, maxLines+3)
	for i := range many {
		many[i] = fmt.Sprintf("V%d=%d", i, i)
	}
	for _, tc := range []struct {
		name    string
		cfg     v1.Config
		want    []string // in the text
		notWant []string
	}{
		{"none", v1.Config{}, []string{"\nProcess: none (the config sets no entrypoint, cmd, env or working directory)\n"}, []string{"  entrypoint", "  env\n"}},
		{"all", v1.Config{Entrypoint: []string{"/init"}, Cmd: []string{"hello", "two words"}, Env: []string{"GREETING=hello world", "PORT=80"}, WorkingDir: "/srv"},
			[]string{"\nProcess\n", "  entrypoint  \"/init\"\n", "  cmd         \"hello\" \"two words\"\n", "  workdir     /srv\n",
				"  env\n    GREETING=hello world\n    PORT=80\n"}, []string{"Process: none"}},
		{"cmd only", v1.Config{Cmd: []string{"a"}}, []string{"\nProcess\n  cmd  \"a\"\n"}, []string{"  entrypoint", "  env\n", "workdir"}},
		{"hostile", v1.Config{Entrypoint: []string{"/a\x1b[2J"}, Cmd: []string{"x\ny"}, Env: []string{"A=1\n2", "B=\x1b]0;t\x07", "C=x=y", "NOEQ\r"}, WorkingDir: "/w\nx"},
			[]string{`  entrypoint  "/a\x1b[2J"`, `  cmd         "x\ny"`, `  workdir     "/w\nx"`, "    A=\"1\\n2\"\n", "    B=\"\\x1b]0;t\\a\"\n", "    C=x=y\n", "    \"NOEQ\\r\"\n"},
			[]string{"\x1b", "\x07", "\r", "1\n2", "x\ny"}},
		{"long", v1.Config{Cmd: []string{strings.Repeat("c", maxShown+5)}, Env: append([]string{"L=" + strings.Repeat("v", maxShown+1)}, many...)},
			[]string{`"` + strings.Repeat("c", maxShown) + `"... (1029 bytes)`, "    L=" + strings.Repeat("v", maxShown) + "... (1025 bytes)\n",
				fmt.Sprintf("    V%d=%d\n    ... and 4 more\n", maxLines-2, maxLines-2)}, []string{fmt.Sprintf("V%d=", maxLines-1)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := &image.Image{RepoTags: []string{"urunc/p:1"}, Architecture: "amd64", Config: tc.cfg,
				Layers: []image.Layer{{Entries: []image.Entry{{Path: "/k", Type: image.Regular, Data: []byte("k")}}}}}
			p := filepath.Join(t.TempDir(), "img.tar")
			if err := output.WriteFile(p, img.WriteDockerArchive); err != nil {
				t.Fatal(err)
			}
			reports, err := Path(p)
			if err != nil {
				t.Fatal(err)
			}
			r := reports[0]
			var js bytes.Buffer
			if err := r.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
			var got struct {
				Entrypoint, Cmd, Env []string
				WorkingDir           string
			}
			if err := json.Unmarshal(js.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Entrypoint, tc.cfg.Entrypoint) || !reflect.DeepEqual(got.Cmd, tc.cfg.Cmd) ||
				!reflect.DeepEqual(got.Env, tc.cfg.Env) || got.WorkingDir != tc.cfg.WorkingDir {
				t.Errorf("JSON %+v, want %+v", got, tc.cfg)
			}
			for _, k := range []string{`"entrypoint"`, `"cmd"`, `"env"`, `"workingDir"`} {
				if empty := reflect.ValueOf(tc.cfg).IsZero(); empty && strings.Contains(js.String(), k) {
					t.Errorf("JSON of no process holds %s:\n%s", k, js.String())
				}
			}
			var b bytes.Buffer
			if err := r.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("text lacks %q:\n%.3000s", w, out)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(out, w) {
					t.Errorf("text holds %q:\n%.3000s", w, out)
				}
			}
		})
	}
}
