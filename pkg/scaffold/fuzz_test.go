package scaffold

import (
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// addGuides seeds f with the packaging guides' files named file.
func addGuides(f *testing.F, file string) {
	f.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "guides", "*", file))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no %s in testdata/guides: %v", file, err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// checkDescription fails t when a description the parsers accepted could
// not become a valid args.nix: every target absolute and clean, no target
// or source twice, every copy named for messages.
func checkDescription(t *testing.T, d *Description) {
	t.Helper()
	targets, sources := map[string]bool{}, map[string]bool{}
	for _, c := range d.Files {
		if !path.IsAbs(c.Target) || path.Clean(c.Target) != c.Target {
			t.Errorf("target %q is not absolute and clean", c.Target)
		}
		src := c.Image + " " + path.Clean(c.Source)
		if targets[c.Target] || c.Image == "" && sources[src] {
			t.Errorf("copy %q -> %q given twice", c.Source, c.Target)
		}
		if c.Image != "" && (!path.IsAbs(c.Source) || path.Clean(c.Source) != c.Source) {
			t.Errorf("path %q in the image %q is not absolute and clean", c.Source, c.Image)
		}
		targets[c.Target], sources[src] = true, true
		if c.Where == "" {
			t.Errorf("copy %q has no Where", c.Source)
		}
	}
	if out := d.Nix(); !strings.HasSuffix(string(out), "}\n") {
		t.Errorf("args.nix does not end its attribute set:\n%s", out)
	}
}

func FuzzContainerfile(f *testing.F) {
	fuzzParser(f, "Containerfile", Containerfile,
		"FROM scratch\nCOPY a b /x/\nADD [\"c\", \"/y\"]\nLABEL a=b \\\n  c=d\n",
		"FROM unikraft.org/nginx:1.15\nLABEL com.urunc.unikernel.hypervisor=qemu\nFROM scratch AS x\n",
		"# escape=`\nFROM scratch\n",
		"COPY --chmod=0755 a /a\nCOPY a /a\nCOPY ./a /b\n",
		"FROM r.io/urunit:1 AS init\nFROM scratch\nCOPY --from=init /urunit /urunit\nCOPY --from=r.io/app:2 app/ /srv/\nCOPY --from=0 . /x\n",
		"LABEL \"com.urunc.unikernel.cmdline\"='x \"y\"'\nRUN \\\n\n# c\n x\n",
		"ENV A=1 B=\"two words\" in=x\nENV OLD legacy value\nENV C=$D\nENTRYPOINT [\"/init\"]\nCMD [\"a\", \"b c\"]\nCMD /app\n",
	)
}

func FuzzBunnyfile(f *testing.F) {
	fuzzParser(f, "bunnyfile", Bunnyfile,
		"version: v0.1\nkernel: {from: local, path: k}\nrootfs: {from: scratch, include: [a:/x, b:/y]}\n",
		"version: v0.1\n---\nversion: v0.1\n",
		"version: v0.1\nkernel: {from: local, path: /}\n",
		"version: v0.1\nkernel: &a {from: local, path: k}\nrootfs: *a\n",
		"version: v0.1\nkernel: {from: local, path: k}\nrootfs: {from: scratch, type: raw, include: [{source: a, destination: /x}, {from: img, source: /l, destination: /l}, b:/y]}\n"+
			"cmd: [a, 'b c']\nentrypoint: [/init]\nenvs: [A=1, 'B=two words', C]\n",
	)
}

// fuzzParser fuzzes parse, the parser of files named name, from the
// guides' files of that name and seeds: it either reports an *Error or
// gives a description checkDescription accepts.
func fuzzParser(f *testing.F, name string, parse func([]byte, string) (*Description, error), seeds ...string) {
	addGuides(f, name)
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		d, err := parse(src, name)
		if err != nil {
			if _, ok := err.(*Error); !ok || err.Error() == "" {
				t.Fatalf("error %T %q is not a report", err, err)
			}
			return
		}
		checkDescription(t, d)
	})
}
