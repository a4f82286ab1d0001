package scaffold

import (
	"bufio"
	"bytes"
	"encoding/json"
	"path"
	"strconv"
	"strings"

	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/urunc"
)

// Containerfile converts a Dockerfile-like Containerfile of pun or bunny
// (FROM scratch, COPY src dst, LABEL "com.urunc.unikernel.*"=...) read from
// file. Sources stay relative to the build context; the caller rebases them.
// Anything else (a FROM image, COPY --from, RUN, labels that are not urunc's)
// is an error naming the line.
func Containerfile(src []byte, file string) (*Description, error) {
	d := &Description{Annotations: map[string]string{}}
	var bad problems
	for _, ln := range logicalLines(src) {
		at := file + ":" + strconv.Itoa(ln.n)
		word, rest, _ := strings.Cut(strings.TrimSpace(ln.text), " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(word) {
		case "FROM":
			if !strings.EqualFold(rest, "scratch") {
				bad.add("%s: FROM %s: bunix builds images from scratch; a base image cannot be carried over (copy the files you need from it)", at, rest)
			}
		case "COPY", "ADD":
			copies, err := parseCopy(strings.ToUpper(word), rest)
			if err != "" {
				bad.add("%s: %s", at, err)
			}
			d.Files = append(d.Files, copies...)
		case "LABEL":
			words, err := args.SplitCmdline(rest)
			if err != nil {
				bad.add("%s: LABEL %s: %v", at, rest, err)
				continue
			}
			for _, w := range words {
				k, v, ok := strings.Cut(w, "=")
				switch {
				case !ok:
					bad.add("%s: LABEL %s: want key=value", at, w)
				case !strings.HasPrefix(k, urunc.Prefix):
					bad.add("%s: LABEL %s: only urunc's %s* labels can be carried over (bunix writes no other labels)", at, k, urunc.Prefix)
				default:
					d.Annotations[strings.TrimPrefix(k, urunc.Prefix)] = v
				}
			}
		default:
			bad.add("%s: %s cannot be carried over: bunix copies files and sets urunc annotations, it runs nothing and keeps no other settings", at, word)
		}
	}
	return d, bad.err()
}

// parseCopy reads the arguments of COPY (or ADD): sources then a target, in
// shell form or JSON form.
func parseCopy(instr, rest string) ([]Copy, string) {
	var words []string
	if strings.HasPrefix(rest, "[") {
		if err := json.Unmarshal([]byte(rest), &words); err != nil {
			return nil, instr + " " + rest + ": bad JSON form: " + err.Error()
		}
	} else {
		var err error
		if words, err = args.SplitCmdline(rest); err != nil {
			return nil, instr + " " + rest + ": " + err.Error()
		}
	}
	if len(words) > 0 && strings.HasPrefix(words[0], "--") {
		return nil, instr + " " + words[0] + ": flags cannot be carried over (bunix copies from the build context, owned by 0:0 with modes it chooses)"
	}
	if instr == "ADD" {
		for _, w := range words[:max(len(words)-1, 0)] {
			if strings.Contains(w, "://") {
				return nil, "ADD " + w + ": bunix fetches nothing; download it and copy the file"
			}
		}
	}
	if len(words) < 2 {
		return nil, instr + " " + rest + ": want one or more sources and a target"
	}
	dst := words[len(words)-1]
	srcs := words[:len(words)-1]
	if !path.IsAbs(dst) {
		return nil, instr + " " + rest + ": the target must be absolute (there is no WORKDIR)"
	}
	dir := strings.HasSuffix(dst, "/") || len(srcs) > 1
	var out []Copy
	for _, s := range srcs {
		if strings.ContainsAny(s, "*?[") {
			return nil, instr + " " + s + ": wildcards cannot be carried over; name each file"
		}
		t := path.Clean(dst)
		if dir {
			t = path.Join(t, path.Base(s))
		}
		out = append(out, Copy{Source: s, Target: t})
	}
	return out, ""
}

type line struct {
	n    int
	text string
}

// logicalLines returns the instructions of a Containerfile with their first
// line numbers: comments and blank lines dropped, backslash continuations
// joined.
func logicalLines(src []byte) []line {
	var out []line
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		t := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (t == "" || strings.HasPrefix(t, "#")) {
			continue
		}
		if cur.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(t, "\\") {
			cur.WriteString(strings.TrimSuffix(t, "\\") + " ")
			continue
		}
		cur.WriteString(t)
		out = append(out, line{start, cur.String()})
		cur.Reset()
	}
	if cur.Len() > 0 {
		out = append(out, line{start, cur.String()})
	}
	return out
}
