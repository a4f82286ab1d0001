package nix_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
)

// hostileBase is a description that builds, which each case of
// TestHostileArgs changes one field of.
const hostileBase = `name = "t/x"; files = { "./kernel" = "/unikernel/kernel"; };
  annotations = { unikernelType = "unikraft"; hypervisor = "qemu"; binary = "/unikernel/kernel"; };`

// TestHostileArgs instantiates default.nix on args files that a careless or
// hostile user could write: each must stop evaluation with an error naming
// the field (and, where Nix knows it, the line of args.nix), or evaluate so
// that the builder can name it; never Nix's bare "stack overflow", and
// never a path or derivation silently turned into a store path where the
// builder wants the user's string. Evaluation only: nothing is built.
func TestHostileArgs(t *testing.T) {
	testenv.RequireNixStore(t, "nix-instantiate")
	root := testenv.ModuleRoot(t)
	megabyte := strings.Repeat("a", 1<<20)
	genMB := `(builtins.concatStringsSep "" (builtins.genList (_: "a") 1048576))`
	pin := `digest = "sha256:` + strings.Repeat("0", 64) + `"; hash = "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";`
	for _, tc := range []struct {
		name, args string
		want       []string // substrings of the error, in order; none: it must evaluate
	}{
		// toJSON copied the directory into the store and made its store
		// path the working directory, exit 0.
		{"path as workingDir", `{ ` + hostileBase + ` workingDir = ./.; }`,
			[]string{`workingDir (`, `args.nix:2:101): is a path, `, `Nix would copy it into the store`}},
		{"path in annotations", `{ name = "t/x"; files = { "./kernel" = "/unikernel/kernel"; };
  annotations = { unikernelType = "unikraft"; hypervisor = "qemu"; binary = ./kernel; }; }`,
			[]string{`annotations.binary (`, `args.nix:2:`, `is a path, `}},
		{"path in cmd", `{ ` + hostileBase + ` cmd = [ "x" ./kernel ]; }`, []string{`cmd[1] (`, `is a path, `}},
		{"path as tag", `{ ` + hostileBase + ` tag = ./kernel; }`, []string{`: tag (`, `is a path, `}},
		{"path in env", `{ ` + hostileBase + ` env.X = ./kernel; cmd = [ "x" ]; }`, []string{`env.X (`, `is a path, `}},
		{"path in rootfs", `{ ` + hostileBase + ` rootfs = { type = "raw"; path = ./kernel; }; }`, []string{`rootfs.path (`, `is a path, `}},
		{"derivation as cmdline", `{ name = "t/x"; files = { "./kernel" = "/unikernel/kernel"; };
  annotations = { cmdline = derivation { name = "d"; system = "x"; builder = "/x"; }; }; }`,
			[]string{`annotations.cmdline (`, `is a derivation or other store object (d)`}},
		// An empty source was root + "/": the whole directory of args.nix
		// went into the store and the image, exit 0; bunix build refuses it.
		{"empty files source", `{ ` + hostileBase + ` files."" = "/x"; }`, []string{`files."": source must not be empty`}},
		{"empty contents source", `{ ` + hostileBase + ` contents = [ { source = ""; target = "/x"; } ]; }`, []string{`contents[0]: source must not be empty`}},
		// Nix's regular expressions overflowed the stack on these, naming
		// nothing; the builder now reports them, with their positions.
		{"megabyte target", `{ ` + hostileBase + ` contents = [ { source = ./kernel; target = "/" + ` + genMB + `; } ]; }`, nil},
		{"megabyte line", `{ ` + hostileBase + ` env.X = "` + megabyte + `"; cmd = [ "x" ]; }`, nil},
		{"megabyte ref", `{ ` + hostileBase + ` from = { ref = ` + genMB + `; ` + pin + ` }; }`,
			[]string{`bunix.buildImage t/x: from.ref (`, `args.nix:2:`, `) = "aaaa`, `..." (1048578 bytes): want "registry/repo:tag"`}},
		{"megabyte hypervisor", `{ name = "t/x"; files = { "./kernel" = "/unikernel/kernel"; };
  annotations = { hypervisor = ` + genMB + `; }; from = { ref = "r/x:y"; ` + pin + ` }; }`,
			[]string{`bunix.buildImage t/x: annotations.hypervisor (`, `args.nix:2:19) = "aaaa`, `(1048578 bytes): want a urunc monitor name`}},
		// pullImage's checks named its own argument (digest), not the
		// field the user wrote (from.digest), nor where.
		{"from digest", `{ ` + hostileBase + ` from = { ref = "r/x:y"; digest = "sha256:abc"; hash = "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="; }; }`,
			[]string{`bunix.buildImage t/x: from.digest (`, `args.nix:2:`, `) = "sha256:abc": want "sha256:" and 64 lower-case hex digits`}},
		{"contents image hash", `{ ` + hostileBase + `
  contents = [ { image = { ref = "r/x:y"; digest = "sha256:` + strings.Repeat("0", 64) + `"; hash = "h"; }; source = "/a"; target = "/b"; } ]; }`,
			[]string{`bunix.buildImage t/x: contents[0].image.hash (`, `args.nix:3:`, `) = "h": want the SRI NAR hash`}},
		{"files image ref", `{ ` + hostileBase + `
  files."/a" = { image = { ref = "r/x@sha256:` + strings.Repeat("0", 64) + `"; ` + pin + ` }; target = "/b"; }; }`,
			[]string{`bunix.buildImage t/x: files."/a".image.ref (`, `args.nix:3:`, `) = "r/x@sha256:`, `": want "registry/repo:tag", without a digest`}},
		{"urunit hash", `{ ` + hostileBase + ` urunit = { ref = "r/x:y"; digest = "sha256:` + strings.Repeat("0", 64) + `"; hash = 1; }; }`,
			[]string{`bunix.buildImage t/x: urunit.hash (`, `args.nix:2:`, `) = 1: want the SRI NAR hash`}},
		// Nix's own "unexpected argument 'anotations'" pointed at
		// default.nix's call of buildImage, not at args.nix.
		{"typo", `{ name = "t/x"; files = { "./kernel" = "/unikernel/kernel"; };
  anotations = { unikernelType = "unikraft"; hypervisor = "qemu"; binary = "/unikernel/kernel"; }; }`,
			[]string{`bunix.buildImage t/x: anotations (`, `args.nix:2:3): unknown field; did you mean "annotations"? (known: annotations, `}},
		{"insecure of a pull", `{ ` + hostileBase + ` from = { ref = "r/x:y"; ` + pin + ` insecure = "yes"; }; }`,
			[]string{`bunix.buildImage t/x: from.insecure (`, `args.nix:2:`, `) = "yes": want true or false`}},
		{"architecture of a pull", `{ ` + hostileBase + ` architecture = "mips"; from = { ref = "r/x:y"; ` + pin + ` }; }`,
			[]string{`bunix.buildImage t/x: architecture (`, `args.nix:2:`, `) = "mips": unknown architecture`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "kernel"), []byte("kernel\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "args.nix"), []byte(tc.args), 0o644); err != nil {
				t.Fatal(err)
			}
			_, stderr, err := testenv.NixInstantiate(t, dir, filepath.Join(root, "default.nix"),
				"--arg", "bunix", testenv.Bunix(t), "--arg", "args", "./args.nix")
			if strings.Contains(stderr, "stack overflow") {
				t.Fatalf("stack overflow:\n%.2000s", stderr)
			}
			if tc.want == nil {
				if err != nil {
					t.Fatalf("%.2000v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("evaluated, want an error")
			}
			if w := testenv.MissingInOrder(stderr, tc.want...); w != "" {
				t.Fatalf("error lacks %q (in order):\n%.2000s", w, stderr)
			}
		})
	}
}

// TestSourceOutOfStore builds images whose source, a string with context,
// leads out of the Nix store: through "..", or as a symbolic link in a
// store path to /etc/passwd. The layer builder packed the sandbox's
// /etc/passwd (without a sandbox, the host's), exit 0. Both must fail,
// naming the field where args.nix writes it, and write no image.
func TestSourceOutOfStore(t *testing.T) {
	testenv.RequireNixStore(t, "nix-build")
	root := testenv.ModuleRoot(t)
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, "d", "pw")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "kernel"), []byte("kernel\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A layers = "single" image encodes its copies itself, the others take
	// them from layer derivations: both ways must refuse.
	link := `"${builtins.path { path = ./d; name = "d"; }}/pw"`
	linux := `annotations = { unikernelType = "linux"; hypervisor = "qemu"; binary = "/unikernel/kernel"; };
  files = { "./kernel" = "/unikernel/kernel"; }; cmd = [ "/init" ];`
	// The other sources a builder reads: urunit, rootfs.from and the base.
	for _, tc := range []struct{ name, args, want string }{
		{"urunit", `{ name = "t/x"; urunit = ` + link + `; ` + linux + `
  rootfs = { type = "initrd"; include = { "./kernel" = "/init"; }; }; }`, `args.nix:1:17: urunit = "`},
		{"rootfs.from", `{ name = "t/x"; ` + linux + `
  rootfs = { type = "initrd"; from = ` + link + `; }; }`, `args.nix:3:31: rootfs.from = "`},
		{"from", `{ ` + hostileBase + `
  from = ` + link + `; }`, `args.nix:3:3: from = "`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stderr := buildFails(t, root, dir, tc.args)
			if !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "source is a symbolic link out of the Nix store, to /etc/passwd") {
				t.Fatalf("error lacks the field (%q) or the link:\n%.2000s", tc.want, stderr)
			}
		})
	}
	for _, tc := range []struct{ name, source, layers, want string }{
		{"link", `"${builtins.path { path = ./d; name = "d"; }}/pw"`, `"per-file"`, `source is a symbolic link out of the Nix store, to /etc/passwd`},
		{"link single", `"${builtins.path { path = ./d; name = "d"; }}/pw"`, `"single"`, `source is a symbolic link out of the Nix store, to /etc/passwd`},
		{"dotdot", `"${builtins.path { path = ./d; name = "d"; }}/../../../etc/passwd"`, `"per-file"`, `source has a ".." in it`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := `{ ` + hostileBase + `
  layers = ` + tc.layers + `;
  contents = [ { source = ` + tc.source + `; target = "/x"; } ]; }`
			stderr := buildFails(t, root, dir, args)
			if !strings.Contains(stderr, `args.nix:4:18: contents[0] = "`) || !strings.Contains(stderr, tc.want) {
				t.Fatalf("error lacks the field or %q:\n%.2000s", tc.want, stderr)
			}
		})
	}
}

// buildFails writes args as dir/args.nix, builds it with the checkout's
// default.nix and returns what nix-build said, failing the test if it
// built.
func buildFails(t *testing.T, root, dir, args string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "args.nix"), []byte(args), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := testenv.NixBuild(t, dir, filepath.Join(root, "default.nix"),
		"--arg", "bunix", testenv.Bunix(t), "--arg", "args", "./args.nix")
	if err == nil {
		t.Fatalf("built %s, want an error", out)
	}
	return stderr
}

// TestDefaultNixArgsFile: default.nix given its args file carelessly, as a
// relative string (--argstr args args.nix) or a file that is not there,
// says so, naming args; the relative string read /args.nix ("getting status
// of '/args.nix'").
func TestDefaultNixArgsFile(t *testing.T) {
	testenv.RequireNixStore(t, "nix-instantiate")
	root := testenv.ModuleRoot(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "args.nix"), []byte(`{ `+hostileBase+` }`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--argstr", "args", "args.nix"}, `default.nix: args = "args.nix": a relative file name given as a string, which Nix cannot tell the directory of: pass a path, --arg args ./args.nix, or an absolute name`},
		{[]string{"--arg", "args", "./nope.nix"}, `default.nix: args = ` + filepath.Join(dir, "nope.nix") + `: no such file`},
		{[]string{"--arg", "args", "3"}, `default.nix: args: expected a path to an args file or an attribute set (got a value of type int)`},
	} {
		_, stderr, err := testenv.NixInstantiate(t, dir, append([]string{filepath.Join(root, "default.nix"), "--arg", "bunix", testenv.Bunix(t)}, tc.args...)...)
		if err == nil || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: %v, want %q\n%s", tc.args, err, tc.want, stderr)
		}
	}
}

// TestIndexBadInput: an index of two images of one platform, or of two
// images in a docker-archive, is bad input: the builder names
// buildImageIndex's field and exits 2. It exited 1, pkg/image's plain
// error when writing, as if bunix had failed on good input.
func TestIndexBadInput(t *testing.T) {
	testenv.RequireNixStore(t, "nix-build")
	root := testenv.ModuleRoot(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "kernel"), []byte("kernel\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, archs, format, want string }{
		{"same platform", `"amd64" "x86_64"`, "oci-archive", `bunix.buildImageIndex: images[1].architecture = "x86_64": images[0] is for linux/amd64 too: an index holds one image per platform`},
		{"docker-archive", `"amd64" "arm64"`, "docker-archive", `bunix.buildImageIndex: format = "docker-archive": holds one image, not 2 (linux/amd64, linux/arm64)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expr := `let
  lib = import ` + root + `/nix/lib.nix;
  bunix = ` + testenv.Bunix(t) + `;
  img = architecture: lib.buildImage { ` + hostileBase + ` root = ` + dir + `; inherit architecture bunix; };
in lib.buildImageIndex { images = map img [ ` + tc.archs + ` ]; format = "` + tc.format + `"; inherit bunix; }`
			out, stderr, err := testenv.NixBuild(t, dir, "--expr", expr)
			if err == nil {
				t.Fatalf("built %s, want an error", out)
			}
			if !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "failed with exit code 2") {
				t.Fatalf("want %q and exit code 2:\n%.3000s", tc.want, stderr)
			}
		})
	}
}

// TestSourceMissingInStore: a source inside a store path that holds no
// such path ("${drv}/nope": a directory output without it, or a file
// output) fails naming the field where args.nix writes it and the path,
// exit 2, whether its layer is a derivation of its own (per-file, and the
// rootfs's) or the image's. The layer derivation failed, exit 1, with
// only "reading the layer's source: stat ...".
func TestSourceMissingInStore(t *testing.T) {
	testenv.RequireNixStore(t, "nix-build")
	root := testenv.ModuleRoot(t)
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "kernel"), []byte("kernel\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A derivation whose output is a file, built by bunix (no nixpkgs).
	file := `(derivation { name = "f"; system = builtins.currentSystem; builder = "${` + testenv.Bunix(t) + `}/bin/bunix";
    args = [ "nix-script" ]; text = "` + t.Name() + `"; passAsFile = [ "text" ]; })`
	linux := `name = "t/x"; annotations = { unikernelType = "linux"; hypervisor = "qemu"; binary = "/unikernel/kernel"; };
  files = { "./kernel" = "/unikernel/kernel"; }; cmd = [ "/init" ];`
	for _, tc := range []struct{ name, args, want string }{
		{"directory per-file", `{ ` + hostileBase + `
  contents = [ { source = "${./d}/nope"; target = "/x"; } ]; }`,
			`args.nix:3:18: contents[0] = "/nix/store/`},
		{"file output single", `{ ` + hostileBase + ` layers = "single";
  contents = [ { source = "${` + file + `}/nope"; target = "/x"; } ]; }`,
			`args.nix:3:18: contents[0] = "`},
		{"file output per-file", `{ ` + hostileBase + `
  contents = [ { source = "${` + file + `}/nope"; target = "/x"; } ]; }`,
			`args.nix:3:18: contents[0] = "`},
		{"rootfs.include", `{ ` + linux + `
  rootfs = { type = "initrd"; include = [ { source = "${./d}/nope"; target = "/init"; } ]; }; }`,
			`args.nix:3:45: rootfs.include[0] = "`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stderr := buildFails(t, root, dir, tc.args)
			if !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, `/nope": source does not exist`) ||
				!strings.Contains(stderr, " has no nope in it") && !strings.Contains(stderr, " is a file, with no nope in it") ||
				!strings.Contains(stderr, "failed with exit code 2") {
				t.Fatalf("want %q, the path and exit code 2:\n%.3000s", tc.want, stderr)
			}
		})
	}
}

// TestTargetErrorShowsTarget: a copy whose target lies under another
// copy's file is named with its target, which is at fault; the message
// showed its source, the store path of the file Nix copied.
func TestTargetErrorShowsTarget(t *testing.T) {
	testenv.RequireNixStore(t, "nix-build")
	root := testenv.ModuleRoot(t)
	dir := t.TempDir()
	for _, f := range []string{"kernel", "hello.conf"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(f+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := `{ ` + hostileBase + `
  contents = [ { source = ./hello.conf; target = "/unikernel/kernel/hello.conf"; } ]; }`
	stderr := buildFails(t, root, dir, args)
	want := `args.nix:3:18: contents[0] = "/unikernel/kernel/hello.conf": needs /unikernel/kernel to be a directory, but files."./kernel" puts a file there`
	if !strings.Contains(stderr, want) || !strings.Contains(stderr, "failed with exit code 2") {
		t.Fatalf("want %q, exit code 2:\n%.3000s", want, stderr)
	}
}

// TestPushScriptArgs: pushScript given a ref, image or insecure of the
// wrong type names the argument; a ref that is a list or a number gave
// Nix's "value is a list while a string was expected", in lib.nix.
func TestPushScriptArgs(t *testing.T) {
	testenv.RequireNixStore(t, "nix-instantiate")
	root := testenv.ModuleRoot(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "kernel"), []byte("kernel\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ args, want string }{
		{`ref = [ ];`, `bunix.pushScript <ref>: ref: must be a string, where to push the image, e.g. "registry.example.com/urunc/app:1.0" (got list)`},
		{`ref = 3;`, `bunix.pushScript <ref>: ref: must be a string, where to push the image, e.g. "registry.example.com/urunc/app:1.0" (got int)`},
		{`ref = "r.io/x y";`, `bunix.pushScript r.io/x y: ref = "r.io/x y": want "registry/repo:tag", without spaces`},
		{`ref = "";`, `bunix.pushScript <ref>: ref = "": want "registry/repo:tag", without spaces`},
		{`ref = "r.io/x:1"; insecure = 1;`, `bunix.pushScript r.io/x:1: insecure: must be true or false (got int)`},
		{`ref = "r.io/x:1"; image = 3;`, `bunix.pushScript r.io/x:1: image: must be an image made by buildImage (got int)`},
		{`ref = "r.io/x:1";`, ``},
	} {
		expr := `let
  lib = import ` + root + `/nix/lib.nix;
  bunix = ` + testenv.Bunix(t) + `;
  image = lib.buildImage { ` + hostileBase + ` root = ` + dir + `; inherit bunix; };
in lib.pushScript ({ inherit image bunix; } // { ` + tc.args + ` })`
		_, stderr, err := testenv.NixInstantiate(t, dir, "--expr", expr)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v\n%s", tc.args, err, stderr)
			}
			continue
		}
		if err == nil || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: %v, want %q\n%.2000s", tc.args, err, tc.want, stderr)
		}
	}
}
