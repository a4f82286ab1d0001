package main

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestInspectProcess: an image built from an args.json with env,
// entrypoint and cmd shows them in inspect's text, in its Process section,
// and in inspect --json.
func TestInspectProcess(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"kernel": "k",
		"args.json": `{"name": "urunc/app", "files": {"./kernel": "/unikernel/kernel"},
  "env": {"PORT": "80", "GREETING": "hello world", "ODD": "a\u001b[2Jb"}, "entrypoint": ["/init"], "cmd": ["hello", "two words"],
  "annotations": {"unikernelType": "linux", "hypervisor": "qemu", "binary": "/unikernel/kernel"}}`,
	})
	out := filepath.Join(dir, "image.tar")
	if code, _, stderr := cli(t, nil, "build", "-f", filepath.Join(dir, "args.json"), "-o", out); code != 0 {
		t.Fatalf("build: exit %d: %s", code, stderr)
	}
	code, text, stderr := cli(t, nil, "inspect", out)
	if code != 0 {
		t.Fatalf("inspect: exit %d: %s", code, stderr)
	}
	want := "\nProcess\n  entrypoint  \"/init\"\n  cmd         \"hello\" \"two words\"\n  env\n    GREETING=hello world\n    ODD=\"a\\x1b[2Jb\"\n    PORT=80\n"
	if !strings.Contains(text, want) || strings.Contains(text, "\x1b") {
		t.Errorf("inspect text:\n%s\nwant it to hold:\n%s", text, want)
	}
	code, js, stderr := cli(t, nil, "inspect", "--json", out)
	if code != 0 {
		t.Fatalf("inspect --json: exit %d: %s", code, stderr)
	}
	var r struct{ Env, Entrypoint, Cmd []string }
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r.Env, []string{"GREETING=hello world", "ODD=a\x1b[2Jb", "PORT=80"}) ||
		!reflect.DeepEqual(r.Entrypoint, []string{"/init"}) || !reflect.DeepEqual(r.Cmd, []string{"hello", "two words"}) {
		t.Errorf("inspect --json: %+v", r)
	}
}
