package args

import (
	"bytes"
	"context"
	_ "embed"
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
// directory and the Nix search path. Files the args file imports itself
// see the ordinary builtins, minus what restrict-eval takes away.
var evalExpr = `{ file }:
let
  noClock = throw "bunix: builtins.currentTime is not available when bunix evaluates an args file: the image must not depend on when it is built";
  a = scopedImport {
    builtins = builtins // { currentTime = noClock; };
    __currentTime = noClock;
  } (/. + file);
  v = if builtins.isFunction a then a { } else a;
  conv = x:
    if builtins.isPath x then toString x
    else if builtins.isAttrs x then (if x ? outPath then toString x else builtins.mapAttrs (_: conv) x)
    else if builtins.isList x then map conv x
    else x;
  positions = (` + positionsNix + `);
in {
  args = conv v;
  positions = if builtins.isAttrs v then positions null v else { };
}`

// evalNix evaluates an args.nix with nix-instantiate and returns its JSON,
// at most MaxEvalOutput bytes. display names the file in messages.
//
// The evaluation is restricted (restrict-eval, with the args file's
// directory, and the one it links to, on the search path):
// builtins.getEnv returns "", and reading or importing a file outside that
// directory and the Nix search path (NIX_PATH, so <nixpkgs> still works)
// is an error. Paths outside it may
// still be named (`../hello/kernel`): naming a path does not read it.
// Pure evaluation is not used: Nix 2.8 refuses to import the args file by
// its absolute path in pure mode.
func evalNix(ctx context.Context, abs, display string) ([]byte, error) {
	bin, err := exec.LookPath("nix-instantiate")
	if err != nil {
		return nil, fmt.Errorf("evaluating %s needs Nix, and nix-instantiate is not on PATH: install Nix (on Debian: apt-get install nix-bin), or write the description as args.json or args.hcl", display)
	}
	argv := []string{"--eval", "--strict", "--json", "--option", "restrict-eval", "true", "-I", filepath.Dir(abs)}
	// Nix checks the file's canonical path too: allow the directory a
	// symlinked args file lives in.
	if real, err := filepath.EvalSymlinks(abs); err == nil && filepath.Dir(real) != filepath.Dir(abs) {
		argv = append(argv, "-I", filepath.Dir(real))
	}
	cmd := exec.CommandContext(ctx, bin, append(argv, "--argstr", "file", abs, "--expr", evalExpr)...)
	stdout := &cappedBuffer{limit: MaxEvalOutput}
	stderr := &cappedBuffer{limit: 64 << 10}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err = cmd.Run()
	if stdout.over {
		return nil, &EvalError{File: display, Message: fmt.Sprintf("evaluates to more than %d bytes of JSON (%d MiB), the most bunix reads", MaxEvalOutput, MaxEvalOutput>>20)}
	}
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			msg := strings.TrimSpace(stderr.buf.String())
			if strings.Contains(msg, "forbidden in restricted mode") {
				msg += fmt.Sprintf("\nbunix evaluates args files in restricted mode: they can read files only under %s and the Nix search path (-I, NIX_PATH). Name other files without reading them (a path or a string as a source is fine), or build with nix-build", filepath.Dir(abs))
			}
			return nil, &EvalError{File: display, Message: "Nix could not evaluate it:\n" + msg}
		}
		return nil, fmt.Errorf("running nix-instantiate on %s: %w", display, err)
	}
	return stdout.buf.Bytes(), nil
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
