// Package depcheck guards the import direction of the module's packages,
// as go-containerregistry's cmd/crane/depcheck_test.go does: cmd imports
// pkg, never the reverse; pkg/image knows nothing of descriptions (pkg/args)
// or the CLI; pkg/urunc, the urunc vocabulary, imports no other package of
// the module but the leaves internal/msg and internal/nixexpr; pkg/nixbuild,
// the Nix builders, is imported by cmd alone and calls only pkg/build,
// pkg/args, pkg/registry and pkg/image (and the module's internal helpers);
// internal/ is the ground floor: nothing under it imports a package under
// pkg/ (a helper that needs pkg/ belongs in pkg/).
package depcheck

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/nubificus/bunix"

// pkgInfo is what `go list -json` says of a package, as far as these tests
// need it.
type pkgInfo struct {
	ImportPath   string
	Dir          string
	GoFiles      []string
	Imports      []string // direct, without tests
	Deps         []string // transitive, without tests
	TestImports  []string
	XTestImports []string
}

// listModule runs go list on every package of the module.
func listModule(t *testing.T) map[string]*pkgInfo {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go not in PATH: %v", err)
	}
	cmd := exec.Command(goTool, "list", "-deps=false", "-json=ImportPath,Dir,GoFiles,Imports,Deps,TestImports,XTestImports", module+"/...")
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go list %s/...: %v\n%s", module, err, stderr)
	}
	pkgs := map[string]*pkgInfo{}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		p := new(pkgInfo)
		if err := dec.Decode(p); err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		pkgs[p.ImportPath] = p
		// go test caches a result by the files the test touched; touch
		// each package's directory and files so an edit runs it again.
		os.ReadDir(p.Dir)
		for _, f := range p.GoFiles {
			os.Stat(filepath.Join(p.Dir, f))
		}
	}
	return pkgs
}

// violations returns, for each package of the module the rule covers, the
// dependencies (transitive, plus its tests' direct imports when withTests)
// that forbidden matches.
func violations(pkgs map[string]*pkgInfo, covers func(pkg string) bool, forbidden func(dep string) bool, withTests bool) []string {
	var bad []string
	for path, p := range pkgs {
		if !covers(path) {
			continue
		}
		deps := slices.Clone(p.Deps)
		if withTests {
			deps = append(append(deps, p.TestImports...), p.XTestImports...)
		}
		for _, d := range deps {
			if d != path && forbidden(d) {
				bad = append(bad, fmt.Sprintf("%s imports %s", strings.TrimPrefix(path, module+"/"), strings.TrimPrefix(d, module+"/")))
			}
		}
	}
	slices.Sort(bad)
	return slices.Compact(bad)
}

// notAllowed returns the direct imports of the module's package p that
// are neither internal helpers nor among allowed (paths in the module).
func notAllowed(p *pkgInfo, allowed ...string) []string {
	var bad []string
	for _, d := range p.Imports {
		rel, ours := strings.CutPrefix(d, module+"/")
		if ours && !under("internal")(d) && !slices.Contains(allowed, rel) {
			bad = append(bad, rel)
		}
	}
	return bad
}

func under(dir string) func(string) bool {
	return func(p string) bool { return p == module+"/"+dir || strings.HasPrefix(p, module+"/"+dir+"/") }
}

func TestImportDirection(t *testing.T) {
	pkgs := listModule(t)
	for _, need := range []string{"cmd/bunix", "pkg/image", "pkg/args", "pkg/urunc", "pkg/nixbuild"} {
		if pkgs[module+"/"+need] == nil {
			t.Fatalf("go list did not list %s: the rules below would pass vacuously", need)
		}
	}
	ours := func(p string) bool { return strings.HasPrefix(p, module+"/") }
	// leaf packages every package may import: how a message shows a
	// value, how Nix quotes a string.
	leaf := func(p string) bool { return under("internal/msg")(p) || under("internal/nixexpr")(p) }
	for _, rule := range []struct {
		name      string
		covers    func(string) bool
		forbidden func(string) bool
		withTests bool
	}{
		{"nothing imports cmd", func(p string) bool { return !under("cmd")(p) }, under("cmd"), true},
		{"pkg/image imports neither pkg/args nor cmd", under("pkg/image"), func(d string) bool { return under("pkg/args")(d) || under("cmd")(d) }, false},
		{"pkg/urunc imports no other bunix package but internal/msg", under("pkg/urunc"), func(d string) bool { return ours(d) && !leaf(d) }, false},
		{"internal/msg and internal/nixexpr, leaves, import no bunix package", leaf, ours, false},
		{"pkg imports no cmd", under("pkg"), under("cmd"), true},
		{"nothing under internal/ imports pkg/", under("internal"), under("pkg"), true},
		{"pkg/arch imports no other bunix package", under("pkg/arch"), ours, false},
		{"nothing in pkg imports pkg/nixbuild", func(p string) bool { return under("pkg")(p) && !under("pkg/nixbuild")(p) }, under("pkg/nixbuild"), true},
	} {
		if bad := violations(pkgs, rule.covers, rule.forbidden, rule.withTests); len(bad) > 0 {
			t.Errorf("%s, but:\n  %s", rule.name, strings.Join(bad, "\n  "))
		}
	}
	if bad := notAllowed(pkgs[module+"/pkg/nixbuild"], nixbuildImports...); len(bad) > 0 {
		t.Errorf("pkg/nixbuild imports only %v and internal/, but imports %v", nixbuildImports, bad)
	}
	cmdDeps := pkgs[module+"/cmd/bunix"].Deps
	if !slices.ContainsFunc(cmdDeps, under("pkg")) {
		t.Errorf("cmd/bunix imports no pkg/ package: %v", cmdDeps)
	}
	if !slices.Contains(pkgs[module+"/cmd/bunix"].Imports, module+"/pkg/nixbuild") {
		t.Error("cmd/bunix does not import pkg/nixbuild: the Nix builders are not its commands")
	}
}

// nixbuildImports are the packages of the module, beside internal/, that
// pkg/nixbuild may import.
var nixbuildImports = []string{"pkg/build", "pkg/args", "pkg/registry", "pkg/image"}

// TestViolations: the rules catch a forbidden import the real tree cannot
// show without an import cycle (pkg/args imports pkg/image today).
func TestViolations(t *testing.T) {
	pkgs := map[string]*pkgInfo{
		module + "/pkg/image": {ImportPath: module + "/pkg/image", Deps: []string{"fmt", module + "/pkg/args", module + "/pkg/urunc"}},
		module + "/pkg/build": {ImportPath: module + "/pkg/build", TestImports: []string{module + "/cmd/bunix/internal/x"}},
	}
	args := func(d string) bool { return under("pkg/args")(d) || under("cmd")(d) }
	if got := violations(pkgs, under("pkg/image"), args, false); !slices.Equal(got, []string{"pkg/image imports pkg/args"}) {
		t.Errorf("pkg/image rule: %v", got)
	}
	if got := violations(pkgs, under("pkg"), under("cmd"), true); !slices.Equal(got, []string{"pkg/build imports cmd/bunix/internal/x"}) {
		t.Errorf("cmd rule with tests: %v", got)
	}
	if got := violations(pkgs, under("pkg"), under("cmd"), false); len(got) != 0 {
		t.Errorf("cmd rule without tests: %v", got)
	}
	floor := map[string]*pkgInfo{
		module + "/internal/source":  {ImportPath: module + "/internal/source", Deps: []string{"io", module + "/internal/msg", module + "/pkg/registry"}},
		module + "/internal/testenv": {ImportPath: module + "/internal/testenv", XTestImports: []string{module + "/pkg/image"}},
		module + "/internal/msg":     {ImportPath: module + "/internal/msg", Deps: []string{"fmt"}},
	}
	if got := violations(floor, under("internal"), under("pkg"), true); !slices.Equal(got, []string{"internal/source imports pkg/registry", "internal/testenv imports pkg/image"}) {
		t.Errorf("internal rule: %v", got)
	}
	nb := &pkgInfo{ImportPath: module + "/pkg/nixbuild", Imports: []string{"fmt", module + "/pkg/build", module + "/internal/filekind", module + "/pkg/scaffold", module + "/cmd/bunix"}}
	if got := notAllowed(nb, nixbuildImports...); !slices.Equal(got, []string{"pkg/scaffold", "cmd/bunix"}) {
		t.Errorf("nixbuild rule: %v", got)
	}
}
