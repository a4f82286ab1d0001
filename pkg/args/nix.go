package args

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os/exec"
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
var evalExpr = `{ file }:
let
  a = import (/. + file);
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

// evalNix evaluates an args.nix with nix-instantiate and returns its JSON.
// display names the file in messages.
func evalNix(ctx context.Context, abs, display string) ([]byte, error) {
	bin, err := exec.LookPath("nix-instantiate")
	if err != nil {
		return nil, fmt.Errorf("evaluating %s needs Nix, and nix-instantiate is not on PATH: install Nix (on Debian: apt-get install nix-bin), or write the description as args.json or args.hcl", display)
	}
	cmd := exec.CommandContext(ctx, bin, "--eval", "--strict", "--json", "--argstr", "file", abs, "--expr", evalExpr)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, &EvalError{File: display, Message: "Nix could not evaluate it:\n" + strings.TrimSpace(stderr.String())}
		}
		return nil, fmt.Errorf("running nix-instantiate on %s: %w", display, err)
	}
	return stdout.Bytes(), nil
}
