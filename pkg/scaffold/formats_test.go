package scaffold

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/urunc"
)

// TestRenderFormats: for every guest init knows, the JSON and HCL it
// writes decode to the same description, the example lines of its hints
// are in the file's own syntax, and the head says how to build that file.
func TestRenderFormats(t *testing.T) {
	for _, g := range urunc.Guests {
		ms := urunc.MonitorsFor(g)
		if len(ms) == 0 {
			continue
		}
		d, err := Init(Answers{Guest: g, Monitor: ms[0], Binary: "./kernel", Cmdline: "/app x", Env: []string{"A=1"}, Name: "t/" + g})
		if err != nil {
			t.Fatalf("%s: %v", g, err)
		}
		var decoded [2]*args.Args
		for i, f := range []string{"json", "hcl"} {
			text, err := d.Render(f)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(text), "bunix build -f args."+f) || strings.Contains(string(text), "make ") {
				t.Errorf("%s args.%s does not say how to build it with the CLI:\n%s", g, f, text)
			}
			if decoded[i], err = args.DecodeHCL(text, "args."+f, "/src"); err != nil {
				t.Fatalf("%s args.%s: %v\n%s", g, f, err, text)
			}
			for _, h := range d.Hints {
				l := hintIn(f, h)
				if !strings.HasPrefix(h, "rootfs = {") {
					continue
				}
				if f == "json" && !json.Valid([]byte("{"+l+"}")) {
					t.Errorf("%s: JSON hint %q is not JSON", g, l)
				}
				if _, diags := hclsyntax.ParseConfig([]byte(l+"\n"), "hint.hcl", hcl.InitialPos); f == "hcl" && diags.HasErrors() {
					t.Errorf("%s: HCL hint %q: %v", g, l, diags)
				}
			}
		}
		j, h := decoded[0], decoded[1]
		j.File, h.File = "", ""
		if js, hs := strings.ReplaceAll(dump(j), "args.json", "F"), strings.ReplaceAll(dump(h), "args.hcl", "F"); js != hs {
			t.Errorf("%s: args.json and args.hcl differ:\n%s\n%s", g, js, hs)
		}
	}
	if _, err := (&Description{}).Render("yaml"); err == nil || !strings.Contains(err.Error(), `--format "yaml"`) {
		t.Errorf("Render(yaml) = %v", err)
	}
}

func dump(a *args.Args) string {
	r, err := a.Resolve()
	if err != nil {
		// Positions differ between the two files.
		return "error: " + regexp.MustCompile(`args\.(json|hcl):\d+:\d+`).ReplaceAllString(err.Error(), "F")
	}
	copies := map[string]string{}
	for _, c := range r.Copies {
		copies[c.Source] = c.Target
	}
	b, _ := json.Marshal(struct {
		Ref      string
		Settings map[string]string
		Env, Cmd []string
		Copies   map[string]string
	}{r.Ref, r.Settings, r.Env, r.Cmd, copies})
	return string(b)
}
