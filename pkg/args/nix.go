package args

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// positionsNix is the Nix function that finds where each field of an args
// attribute set is written; nix/lib.nix imports the same file.
//
//go:embed positions.nix
var positionsNix string

// evalExpr evaluates the args file named by `file` to JSON: { args;
// positions; }. The file may hold an attribute set or a function taking one
// ({ ... }: {...}), called with no arguments. Path values become absolute
// path strings, and derivations their output paths, so args is the same
// description the Nix library sees.
//
// The file is imported with builtins.currentTime (and __currentTime)
// replaced by an error: with restrict-eval (see evalNix) that leaves the
// evaluation no clock, no environment and no files outside the args
// directory and the Nix search path.
//
// It is also imported with the builtins that read files (import,
// scopedImport, readFile, pathExists, readDir, hashFile, filterSource,
// path, fetchGit, fetchTree) wrapped so that each call first traces
// "MARKER KIND JSON-PATH" on stderr (KIND: import, file, dir or tree),
// marker being a nonce of evalNix's (see readScanner). Every file below
// roots (the args directory) that the evaluation imports is imported the
// same way, so what the args file's own imports read is recorded too;
// files elsewhere (the Nix store, <nixpkgs>) are imported plainly, so what
// code there reads (nixpkgs' lib.fileContents) is not.
var evalExpr = `{ file, marker, roots }:
let
  b = builtins;
  noClock = throw "bunix: builtins.currentTime is not available when bunix evaluates an args file: the image must not depend on when it is built";
  rootList = b.fromJSON roots;
  pathOf = p: if b.isPath p || b.isString p || (b.isAttrs p && p ? outPath) then toString p else null;
  under = p: let s = pathOf p; in s != null && b.any (r: s == r || b.substring 0 (b.stringLength r + 1) s == r + "/") rootList;
  note = kind: p: v: let s = pathOf p; in if s == null then v else b.trace "${marker} ${kind} ${b.toJSON s}" v;
  attrOf = names: a: if b.isAttrs a then b.foldl' (r: n: if r == null then a.${n} or null else r) null names else a;
  hooks = rec {
    import = p: note "import" p (if under p then b.scopedImport scope p else b.import p);
    scopedImport = attrs: p: note "import" p (b.scopedImport (if under p then scope // attrs else attrs) p);
    readFile = p: note "file" p (b.readFile p);
    pathExists = p: note "file" p (b.pathExists p);
    readDir = p: note "dir" p (b.readDir p);
    hashFile = t: p: note "file" p (b.hashFile t p);
    filterSource = f: p: note "tree" p (b.filterSource f p);
    path = a: note "tree" (attrOf [ "path" ] a) (b.path a);
    fetchGit = a: note "tree" (attrOf [ "url" ] a) (b.fetchGit a);
  } // b.listToAttrs (map (n: { name = n; value = a: note "tree" (attrOf [ "path" "url" ] a) (b.${n} a); })
    (b.filter (n: b ? ${n}) [ "fetchTree" ]));
  hookedBuiltins = b // hooks // { currentTime = noClock; builtins = hookedBuiltins; };
  scope = {
    builtins = hookedBuiltins;
    __currentTime = noClock;
    inherit (hooks) import scopedImport fetchGit;
    __readFile = hooks.readFile;
    __pathExists = hooks.pathExists;
    __readDir = hooks.readDir;
    __hashFile = hooks.hashFile;
    __filterSource = hooks.filterSource;
    __path = hooks.path;
  };
  a = b.scopedImport scope (/. + file);
  v = if b.isFunction a then a { } else a;
  conv = x:
    if b.isPath x then toString x
    else if b.isAttrs x then (if x ? outPath then toString x else b.mapAttrs (_: conv) x)
    else if b.isList x then map conv x
    else x;
  positions = (` + positionsNix + `);
in {
  args = conv v;
  positions = if b.isAttrs v then positions null v else { };
}`

// evalNix evaluates an args.nix with nix-instantiate and returns its JSON,
// at most MaxEvalOutput bytes, and the files the evaluation read (see
// evalExpr), the args file itself left out. display names the file in
// messages. The evaluation runs under lim's caps (see runCapped).
//
// The evaluation is restricted (restrict-eval, with the args file's
// directory, and the one it links to, on the search path):
// builtins.getEnv returns "", and reading or importing a file outside that
// directory and the Nix search path (NIX_PATH, so <nixpkgs> still works)
// is an error. Paths outside it may
// still be named (`../hello/kernel`): naming a path does not read it.
// Pure evaluation is not used: Nix 2.8 refuses to import the args file by
// its absolute path in pure mode.
func evalNix(ctx context.Context, abs, display string, lim evalLimits) ([]byte, []Read, error) {
	bin, err := exec.LookPath("nix-instantiate")
	if err != nil {
		return nil, nil, fmt.Errorf("evaluating %s needs Nix, and nix-instantiate is not on PATH: install Nix (on Debian: apt-get install nix-bin), or write the description as args.json or args.hcl", display)
	}
	roots := []string{filepath.Dir(abs)}
	argv := []string{"--eval", "--strict", "--json", "--option", "restrict-eval", "true", "-I", filepath.Dir(abs)}
	// Nix checks the file's canonical path too: allow the directory a
	// symlinked args file lives in.
	if real, err := filepath.EvalSymlinks(abs); err == nil && filepath.Dir(real) != filepath.Dir(abs) {
		argv = append(argv, "-I", filepath.Dir(real))
		roots = append(roots, filepath.Dir(real))
	}
	rootsJSON, err := json.Marshal(roots)
	if err != nil {
		return nil, nil, fmt.Errorf("evaluating %s: %w", display, err)
	}
	marker, err := newMarker()
	if err != nil {
		return nil, nil, fmt.Errorf("evaluating %s: %w", display, err)
	}
	argv = append(argv, "--argstr", "file", abs, "--argstr", "marker", marker, "--argstr", "roots", string(rootsJSON), "--expr", evalExpr)
	stdout := &cappedBuffer{limit: MaxEvalOutput}
	stderr := newReadScanner(marker, 64<<10)
	err = runCapped(ctx, bin, argv, stdout, stderr, lim, display)
	stderr.flush()
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return nil, nil, err
		}
	}
	if stdout.over {
		return nil, nil, &EvalError{File: display, Message: fmt.Sprintf("evaluates to more than %d bytes of JSON (%d MiB), the most bunix reads", MaxEvalOutput, MaxEvalOutput>>20)}
	}
	if stderr.tooMany {
		return nil, nil, &EvalError{File: display, Message: fmt.Sprintf("reads more than %d files: bunix keeps track of what an evaluation reads, so that -o never replaces one, and stops there", maxReads)}
	}
	if err != nil {
		msg := strings.TrimSpace(stderr.other.buf.String())
		if strings.Contains(msg, "forbidden in restricted mode") {
			msg += fmt.Sprintf("\nbunix evaluates args files in restricted mode: they can read files only under %s and the Nix search path (-I, NIX_PATH). Name other files without reading them (a path or a string as a source is fine), or build with nix-build", filepath.Dir(abs))
		}
		return nil, nil, &EvalError{File: display, Message: "Nix could not evaluate it:\n" + msg}
	}
	return stdout.buf.Bytes(), stderr.reads(abs), nil
}

// cappedBuffer keeps the first limit bytes written to it and records that
// more came; it never fails a write, so the writer runs to its end. (It
// does not embed bytes.Buffer, whose ReadFrom io.Copy would call instead
// of Write.)
type cappedBuffer struct {
	buf   bytes.Buffer
	limit int
	over  bool
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if room := b.limit - b.buf.Len(); len(p) > room {
		b.over = true
		p = p[:max(room, 0)]
	}
	b.buf.Write(p)
	return n, nil
}
