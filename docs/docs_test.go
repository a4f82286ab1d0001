// Package docs_test runs the shell commands README.md and docs/*.md show,
// so that the docs stay true when tried.
//
// Every fenced block marked sh, bash, shell or console is run, in the
// order a document shows them, in one scratch directory per document,
// with a freshly built bunix first on PATH, HOME in the scratch
// directory, and CHECKOUT set to this checkout (read it, do not write
// it). An sh block runs as one bash script (-euo pipefail) and must exit
// 0. In a console block each "$ " line is a command (a line ending in "\"
// goes on), the lines up to the next one its output, stdout and stderr
// together; the command must exit 0 and print what is shown, where a
// line "..." stands for any lines (none too) and "..." in a line for any
// text.
//
// A comment on the line before the fence (blank lines between are fine)
// changes that:
//
//	<!-- docs-check: skip REASON -->    not run; say why (needs the network, root, a daemon, ...)
//	<!-- docs-check: setup COMMANDS --> bash COMMANDS run first, unseen (e.g. make a file it reads)
//
// The check reads every README.md and docs/*.md as they are when it runs:
// a block added later is checked too, and a block that cannot run here
// fails until it is marked skip with a reason.
package docs_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nubificus/bunix/internal/testenv"
)

// block is a fenced block of shell a document shows.
type block struct {
	file  string
	line  int // of the opening fence
	lang  string
	body  []string
	skip  string // the reason, when marked skip
	setup string
}

var (
	fence     = regexp.MustCompile("^```\\s*([A-Za-z]*)")
	directive = regexp.MustCompile(`^<!--\s*docs-check:\s*(\S+)\s*(.*?)\s*-->\s*$`)
	shells    = map[string]bool{"sh": true, "bash": true, "shell": true, "console": true}
)

// blocks returns the shell blocks of the Markdown file path (named name).
func blocks(t *testing.T, path, name string) []block {
	t.Helper()
	lines := strings.Split(string(testenv.ReadFile(t, path)), "\n")
	var out []block
	for i := 0; i < len(lines); i++ {
		m := fence.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		b := block{file: name, line: i + 1, lang: m[1]}
		for j := i - 1; j >= 0 && strings.TrimSpace(lines[j]) != ""; j-- {
			d := directive.FindStringSubmatch(strings.TrimSpace(lines[j]))
			if d == nil {
				break
			}
			switch d[1] {
			case "skip":
				b.skip = d[2]
				if b.skip == "" {
					t.Errorf("%s:%d: docs-check: skip without a reason: say why it cannot run here", name, j+1)
					b.skip = "?"
				}
			case "setup":
				b.setup = d[2]
			default:
				t.Errorf("%s:%d: unknown docs-check directive %q (known: skip REASON, setup COMMANDS)", name, j+1, d[1])
			}
		}
		for i++; i < len(lines) && !strings.HasPrefix(lines[i], "```"); i++ {
			b.body = append(b.body, lines[i])
		}
		if shells[b.lang] {
			out = append(out, b)
		}
	}
	return out
}

// TestDocCommands runs the shell blocks of README.md and docs/*.md (see
// the package comment).
func TestDocCommands(t *testing.T) {
	root := testenv.ModuleRoot(t)
	bin := filepath.Join(testenv.Bunix(t), "bin")
	docs, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	docs = append([]string{filepath.Join(root, "README.md")}, docs...)
	ran := 0
	for _, doc := range docs {
		name, _ := filepath.Rel(root, doc)
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			home := filepath.Join(dir, ".home")
			os.Mkdir(home, 0o755)
			env := append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "HOME="+home, "CHECKOUT="+root)
			for _, b := range blocks(t, doc, name) {
				if b.skip != "" {
					continue
				}
				ran++
				where := fmt.Sprintf("%s:%d", b.file, b.line)
				if b.setup != "" {
					if out, err := shell(dir, env, b.setup); err != nil {
						t.Errorf("%s: docs-check setup %q: %v\n%s", where, b.setup, err, out)
						continue
					}
				}
				if b.lang == "console" {
					console(t, where, dir, env, b.body)
				} else if out, err := shell(dir, env, strings.Join(b.body, "\n")); err != nil {
					t.Errorf("%s: the %s block fails here: %v\n%s\n(if it cannot run offline here, put <!-- docs-check: skip REASON --> before it)", where, b.lang, err, out)
				}
			}
		})
	}
	if ran == 0 {
		t.Error("no block of README.md or docs/*.md ran: every one is marked skip")
	}
}

// console runs the commands of a console block in dir and compares what
// each prints with what the block shows.
func console(t *testing.T, where, dir string, env, body []string) {
	t.Helper()
	type step struct {
		cmd  string
		want []string
	}
	var steps []step
	for i := 0; i < len(body); i++ {
		l := body[i]
		if cmd, ok := strings.CutPrefix(l, "$ "); ok {
			for strings.HasSuffix(cmd, "\\") && i+1 < len(body) {
				i++
				cmd = strings.TrimSuffix(cmd, "\\") + "\n" + body[i]
			}
			steps = append(steps, step{cmd: cmd})
			continue
		}
		if len(steps) == 0 {
			t.Errorf("%s: the console block shows output before any \"$ \" command", where)
			return
		}
		steps[len(steps)-1].want = append(steps[len(steps)-1].want, l)
	}
	for len(steps) > 0 && len(steps[len(steps)-1].want) > 0 && strings.TrimSpace(steps[len(steps)-1].want[len(steps[len(steps)-1].want)-1]) == "" {
		s := &steps[len(steps)-1]
		s.want = s.want[:len(s.want)-1]
	}
	for _, s := range steps {
		out, err := shell(dir, env, s.cmd)
		if err != nil {
			t.Errorf("%s: $ %s: %v\n%s\n(if it cannot run offline here, put <!-- docs-check: skip REASON --> before the block)", where, s.cmd, err, out)
			return
		}
		got := strings.Split(strings.TrimRight(out, "\n"), "\n")
		if out == "" {
			got = nil
		}
		if !matches(s.want, got) {
			t.Errorf("%s: $ %s\nprints:\n%s\nthe doc shows:\n%s", where, s.cmd, out, strings.Join(s.want, "\n"))
		}
	}
}

// matches reports whether got is what want shows: a want line "..." is
// any lines, "..." in a line any text.
func matches(want, got []string) bool {
	if len(want) == 0 {
		return len(got) == 0
	}
	if strings.TrimSpace(want[0]) == "..." {
		for i := 0; i <= len(got); i++ {
			if matches(want[1:], got[i:]) {
				return true
			}
		}
		return false
	}
	if len(got) == 0 || !lineMatches(want[0], got[0]) {
		return false
	}
	return matches(want[1:], got[1:])
}

func lineMatches(want, got string) bool {
	want, got = strings.TrimRight(want, " "), strings.TrimRight(got, " ")
	parts := strings.Split(want, "...")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile("^" + strings.Join(parts, ".*") + "$").MatchString(got)
}

// shell runs script with bash in dir, for at most two minutes, and returns
// what it printed, stdout and stderr together.
func shell(dir string, env []string, script string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	cmd.Dir, cmd.Env, cmd.Stdin = dir, env, nil
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}
