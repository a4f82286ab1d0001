package scaffold

import (
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/urunc"
)

// Containerfile converts a Dockerfile-like Containerfile of pun or bunny
// (FROM scratch or FROM registry/repo:tag, COPY src dst, LABEL
// "com.urunc.unikernel.*"=..., ENV, and CMD and ENTRYPOINT in exec form) read
// from file. Sources stay relative to the build context; the caller rebases
// them and checks that they stay inside it; Convert pins a FROM image. Every
// line is carried over or reported: anything else (a multi-stage build, COPY
// --from, RUN, labels that are not urunc's, two copies to one target) is an
// error naming the line.
func Containerfile(src []byte, file string) (*Description, error) {
	d := &Description{Annotations: map[string]string{}}
	var bad problems
	lines, esc := logicalLines(src)
	if esc.n != 0 {
		bad.add("%s:%d: # escape=%s: only the default escape character \\ can be carried over", file, esc.n, clip(esc.text))
	}
	targets := map[string]int{} // target -> line
	sources := map[string]int{} // cleaned source -> line
	labels := map[string]int{}  // short key -> line
	// The stages before the last name images to copy files from (FROM
	// image AS name, and nothing else); the last is the image.
	var stages []stage
	for _, ln := range lines {
		at := file + ":" + strconv.Itoa(ln.n)
		word, rest, _ := strings.Cut(ln.text, " ")
		rest = strings.TrimSpace(rest)
		instr := strings.ToUpper(word)
		if instr != "FROM" && len(stages) > 0 {
			stages[len(stages)-1].busy = true
		}
		switch instr {
		case "FROM":
			words := strings.Fields(rest)
			if n := len(stages); n > 0 && stages[n-1].busy {
				bad.add("%s: FROM %s: a stage that copies, runs or sets something (the one at %s) cannot be carried over: only stages that name an image to COPY --from can", at, clip(rest), stages[n-1].at)
			}
			st := stage{at: at}
			switch {
			case len(words) == 3 && strings.EqualFold(words[1], "AS"):
				st.name = strings.ToLower(words[2])
				// Docker refuses a second stage of a name; taking
				// either would copy from a stage the user did not mean.
				for _, prev := range stages {
					if prev.name == st.name {
						bad.add("%s: FROM %s: a stage named %s is already at %s: give each stage its own name", at, clip(rest), quoted(words[2]), prev.at)
					}
				}
			case len(words) != 1 || strings.HasPrefix(rest, "--"):
				bad.add("%s: FROM %s: only FROM scratch or FROM registry/repo:tag [AS name] can be carried over (no flags)", at, clip(rest))
				continue
			}
			switch ref := words[0]; {
			case strings.Contains(ref, "$"):
				bad.add("%s: FROM %s: variables cannot be carried over (there is no ARG); write the reference out", at, clip(rest))
			case strings.EqualFold(ref, "scratch"):
				d.From, d.FromWhere = "", at
			default:
				if prev := findStage(stages, ref); prev != nil {
					ref = prev.ref
				}
				st.ref = ref
				d.From, d.FromWhere = ref, at
			}
			stages = append(stages, st)
		case "COPY", "ADD":
			from, rest, err := copyFrom(instr, rest, stages)
			if err != "" {
				bad.add("%s: %s", at, err)
				continue
			}
			copies, err := parseCopy(instr, rest)
			if err != "" {
				bad.add("%s: %s", at, err)
				continue
			}
			for _, c := range copies {
				if from != "" {
					c.Image, c.Source = from, path.Clean("/"+c.Source)
					c.Where = at + ": " + instr + " --from=" + clip(from) + " " + quoted(c.Source)
					if n, ok := targets[c.Target]; ok {
						bad.add("%s: target %s is also the target of line %d: two sources cannot share one target", c.Where, clip(c.Target), n)
						continue
					}
					targets[c.Target] = ln.n
					d.Files = append(d.Files, c)
					continue
				}
				c.Where = at + ": " + instr + " " + quoted(c.Source)
				c.add = instr == "ADD"
				if n, ok := targets[c.Target]; ok {
					bad.add("%s: target %s is also the target of line %d: two sources cannot share one target", c.Where, clip(c.Target), n)
					continue
				}
				if n, ok := sources[path.Clean(c.Source)]; ok {
					bad.add("%s: source is also copied at line %d: args.nix copies each source to one target (copy it once, or copy the file under a second name)", c.Where, n)
					continue
				}
				targets[c.Target], sources[path.Clean(c.Source)] = ln.n, ln.n
				d.Files = append(d.Files, c)
			}
		case "LABEL":
			words, err := args.SplitCmdline(rest)
			if err != nil {
				bad.add("%s: LABEL %s: %v", at, clip(rest), err)
				continue
			}
			for _, w := range words {
				k, v, ok := strings.Cut(w, "=")
				short := strings.TrimPrefix(k, urunc.Prefix)
				switch {
				case !ok:
					bad.add("%s: LABEL %s: want key=value", at, clip(w))
				case !strings.HasPrefix(k, urunc.Prefix):
					bad.add("%s: LABEL %s: only urunc's %s* labels can be carried over (an image gets no labels of its own but these; a FROM image's labels are kept)", at, clip(k), urunc.Prefix)
				case slices.Contains(urunc.RuntimeOnly, short):
					bad.add("%s: LABEL %s: urunc takes %s from the runtime, never from an image", at, clip(k), clip(short))
				case !urunc.IsKey(short):
					// args.nix refuses keys urunc does not read, so carrying
					// it over would only move the error to the build.
					bad.add("%s: LABEL %s: unknown urunc label (urunc reads: %s)", at, clip(k), strings.Join(urunc.Keys, ", "))
				case labels[short] != 0:
					bad.add("%s: LABEL %s: also set at line %d: give each label once", at, clip(k), labels[short])
				case args.AnnotationProblem(short, v) != "":
					// The build would refuse the value; say so here, with
					// the line, rather than write an args.nix that fails.
					bad.add("%s: LABEL %s=%s: %s", at, clip(k), quoted(v), args.AnnotationProblem(short, v))
				default:
					labels[short] = ln.n
					d.Annotations[short] = v
				}
			}
		case "ENV":
			if err := parseEnv(rest, d); err != "" {
				bad.add("%s: ENV %s", at, err)
			}
		case "CMD", "ENTRYPOINT":
			words, err := execForm(instr, rest)
			if err != "" {
				bad.add("%s: %s", at, err)
				continue
			}
			// As in Docker, the last one counts.
			if instr == "CMD" {
				d.Cmd = words
			} else {
				d.Entrypoint = words
			}
		case "WORKDIR":
			switch {
			case strings.Contains(rest, "$"):
				bad.add("%s: WORKDIR %s: variables cannot be carried over (there is no ARG); write the path out", at, clip(rest))
			case !path.IsAbs(rest) && d.WorkingDir == "":
				bad.add("%s: WORKDIR %s: a relative WORKDIR needs an earlier one to be relative to: write the absolute path", at, clip(rest))
			case !path.IsAbs(rest):
				d.WorkingDir = path.Join(d.WorkingDir, rest)
			default:
				d.WorkingDir = path.Clean(rest)
			}
		case "USER":
			if p := args.UserProblem(rest); p != "" {
				bad.add("%s: USER %s: %s", at, clip(rest), p)
				continue
			}
			d.User = rest
		default:
			bad.add("%s: %s cannot be carried over: bunix copies files and sets urunc annotations and the guest's env, entrypoint, cmd, working directory and user; it runs nothing and keeps no other settings", at, clip(word))
		}
	}
	if n := len(stages); n > 1 {
		// Only the last stage is the image: its base, when it names one.
		d.From, d.FromWhere = stages[n-1].ref, stages[n-1].at
	}
	return d, bad.err()
}

// stage is one FROM of a Containerfile: the image it names (ref, "" for
// scratch), its name (AS), where it is, and whether any instruction
// follows it before the next FROM.
type stage struct {
	ref, name, at string
	busy          bool
}

// findStage returns the stage named (or numbered) name, or nil.
func findStage(stages []stage, name string) *stage {
	for i := range stages {
		if stages[i].name != "" && stages[i].name == strings.ToLower(name) || strconv.Itoa(i) == name {
			return &stages[i]
		}
	}
	return nil
}

// copyFrom reads COPY --from=X (X a stage's name or number, or an image
// reference): the image the files come from ("" for the build context)
// and the rest of the arguments. ADD --from does not exist.
func copyFrom(instr, rest string, stages []stage) (image, after string, problem string) {
	flag, after, _ := strings.Cut(rest, " ")
	v, ok := strings.CutPrefix(flag, "--from=")
	if !ok {
		return "", rest, ""
	}
	after = strings.TrimSpace(after)
	switch st := findStage(stages, v); {
	case instr != "COPY":
		return "", "", instr + " " + clip(flag) + ": only COPY takes --from"
	case strings.Contains(v, "$"):
		return "", "", "COPY " + clip(flag) + ": variables cannot be carried over; write the reference out"
	case st != nil && st.ref == "":
		return "", "", "COPY " + clip(flag) + ": the stage is FROM scratch, which holds no files"
	case st != nil:
		return st.ref, after, ""
	case !strings.ContainsAny(v, "/:."):
		return "", "", "COPY " + clip(flag) + ": no stage of that name, and not an image reference (registry/repo:tag)"
	}
	return v, after, ""
}

// parseEnv reads the arguments of ENV into d.Env: NAME=value pairs, or the
// older NAME value. A later value of a name replaces an earlier one, as in
// Docker. Variables are not expanded, so a value with $ is refused.
func parseEnv(rest string, d *Description) string {
	if strings.Contains(rest, "$") {
		return clip(rest) + ": variables cannot be carried over (bunix expands nothing); write the value out"
	}
	words, err := args.SplitCmdline(rest)
	if err != nil {
		return clip(rest) + ": " + err.Error()
	}
	if len(words) == 0 {
		return clip(rest) + ": want NAME=value"
	}
	pairs := map[string]string{}
	if !strings.Contains(words[0], "=") {
		// ENV NAME value: the value is the rest of the line.
		name, value, _ := strings.Cut(rest, " ")
		if words, err = args.SplitCmdline(strings.TrimSpace(value)); err != nil || len(words) == 0 {
			return clip(rest) + ": want NAME=value"
		}
		pairs[name] = strings.Join(words, " ")
	} else {
		for _, w := range words {
			name, value, ok := strings.Cut(w, "=")
			if !ok {
				return clip(w) + ": want NAME=value"
			}
			pairs[name] = value
		}
	}
	for name, value := range pairs {
		if p := args.EnvProblem(name, value); p != "" {
			return clip(rest) + ": " + p
		}
		if d.Env == nil {
			d.Env = map[string]string{}
		}
		d.Env[name] = value
	}
	return ""
}

// execForm reads the arguments of CMD or ENTRYPOINT, which must be in exec
// form (a JSON list of strings): the shell form runs /bin/sh -c, which a
// unikernel image has not.
func execForm(instr, rest string) ([]string, string) {
	if !strings.HasPrefix(rest, "[") {
		return nil, fmt.Sprintf("%s %s: only the exec form can be carried over (the shell form runs /bin/sh -c, which a unikernel image has not): write %s [%s]", instr, clip(rest), instr, execHint(rest))
	}
	var words []string
	if err := json.Unmarshal([]byte(rest), &words); err != nil {
		return nil, instr + " " + clip(rest) + ": bad JSON form: " + err.Error()
	}
	return words, ""
}

// execHint spells rest's words as an exec form's list, for messages.
func execHint(rest string) string {
	words, err := args.SplitCmdline(rest)
	if err != nil {
		words = strings.Fields(rest)
	}
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = strconv.Quote(w)
	}
	return clip(strings.Join(quoted, ", "))
}

// parseCopy reads the arguments of COPY (or ADD): sources then a target, in
// shell form or JSON form.
func parseCopy(instr, rest string) ([]Copy, string) {
	var words []string
	if strings.HasPrefix(rest, "[") {
		if err := json.Unmarshal([]byte(rest), &words); err != nil {
			return nil, instr + " " + clip(rest) + ": bad JSON form: " + err.Error()
		}
	} else {
		if strings.HasPrefix(rest, "<<") {
			return nil, instr + " " + clip(rest) + ": here-documents cannot be carried over; write the file and copy it"
		}
		var err error
		if words, err = args.SplitCmdline(rest); err != nil {
			return nil, instr + " " + clip(rest) + ": " + err.Error()
		}
	}
	if len(words) > 0 && strings.HasPrefix(words[0], "--") {
		return nil, instr + " " + clip(words[0]) + ": flags cannot be carried over (bunix copies from the build context, owned by 0:0 with modes it chooses)"
	}
	if instr == "ADD" {
		for _, w := range words[:max(len(words)-1, 0)] {
			if strings.Contains(w, "://") || strings.HasPrefix(w, "git@") {
				return nil, "ADD " + clip(w) + ": bunix fetches nothing; download it and copy the file"
			}
		}
	}
	if len(words) < 2 {
		return nil, instr + " " + clip(rest) + ": want one or more sources and a target"
	}
	dst := words[len(words)-1]
	srcs := words[:len(words)-1]
	for _, w := range words {
		if strings.Contains(w, "$") {
			return nil, instr + " " + clip(w) + ": variables cannot be carried over (there is no ARG or ENV); write the path out"
		}
		if w == "" {
			return nil, instr + " " + clip(rest) + ": empty path"
		}
	}
	if !path.IsAbs(dst) {
		return nil, instr + " " + clip(rest) + ": the target must be absolute (there is no WORKDIR)"
	}
	dir := strings.HasSuffix(dst, "/") || len(srcs) > 1
	var out []Copy
	for _, s := range srcs {
		if strings.ContainsAny(s, "*?[") {
			return nil, instr + " " + clip(s) + ": wildcards cannot be carried over; name each file"
		}
		// Docker reads an absolute source from the build context too.
		rel := strings.TrimLeft(s, "/")
		if rel == "" {
			return nil, instr + " " + clip(s) + ": copies the whole build context: name what to copy"
		}
		t := path.Clean(dst)
		if dir {
			t = path.Join(t, path.Base(rel))
		}
		out = append(out, Copy{Source: rel, Target: t, into: path.Clean(dst)})
	}
	return out, ""
}

type line struct {
	n    int
	text string
}

// logicalLines returns the instructions of a Containerfile with their first
// line numbers: comments and blank lines dropped, backslash continuations
// joined, the instruction word separated from its arguments by one space.
// Lines have no length limit: src is already in memory. It also returns
// the escape parser directive when it sets another character than "\".
func logicalLines(src []byte) (_ []line, escape line) {
	var out []line
	var cur strings.Builder
	start := 0
	directives := true
	for i, raw := range strings.Split(string(src), "\n") {
		n := i + 1
		t := strings.TrimSpace(raw)
		if directives && strings.HasPrefix(t, "#") {
			k, v, ok := strings.Cut(t[1:], "=")
			if v = strings.TrimSpace(v); ok && strings.EqualFold(strings.TrimSpace(k), "escape") && v != `\` {
				escape = line{n, v}
			}
		} else {
			directives = false
		}
		if t == "" || strings.HasPrefix(t, "#") {
			continue // also inside a continued instruction, as Docker does
		}
		if cur.Len() == 0 {
			start = n
			if w := strings.IndexAny(t, " \t"); w >= 0 {
				t = t[:w] + " " + strings.TrimLeft(t[w:], " \t")
			}
		}
		if strings.HasSuffix(t, "\\") {
			cur.WriteString(strings.TrimSuffix(t, "\\") + " ")
			continue
		}
		cur.WriteString(t)
		out = append(out, line{start, strings.TrimSpace(cur.String())})
		cur.Reset()
	}
	if cur.Len() > 0 {
		out = append(out, line{start, strings.TrimSpace(cur.String())})
	}
	return out, escape
}
