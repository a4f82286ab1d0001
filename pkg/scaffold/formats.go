package scaffold

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// Formats are the description formats init and convert write, by the
// name --format takes; an output file's extension picks one ("." and the
// name).
var Formats = []string{"nix", "json", "hcl"}

// FormatOf returns the format an output file name says: "nix", "json" or
// "hcl" for a name ending in that extension, and an error naming the file
// for any other. "" and "-" (standard output) say "nix".
func FormatOf(out string) (string, error) {
	if out == "" || out == "-" {
		return "nix", nil
	}
	ext := strings.TrimPrefix(filepath.Ext(out), ".")
	if slices.Contains(Formats, ext) {
		return ext, nil
	}
	return "", &Error{Problems: []string{fmt.Sprintf("%s: unknown description format %q: the output name must end in .nix, .json or .hcl", quoted(out), "."+ext)}}
}

// Render renders d in format: "nix" (Nix), "json" or "hcl", all three with
// the same content, which bunix build reads alike; only Nix needs Nix
// installed to be read. JSON has no comments: its first key, "//", holds
// the comment lines, which HCL's JSON reader skips.
func (d *Description) Render(format string) ([]byte, error) {
	switch format {
	case "nix":
		return d.Nix(), nil
	case "json":
		return d.JSON(), nil
	case "hcl":
		return d.HCL(), nil
	}
	return nil, &Error{Problems: []string{fmt.Sprintf("--format %s: unknown description format (known: %s)", quoted(format), strings.Join(Formats, ", "))}}
}

// field is one top-level attribute of a description, in the order Nix
// writes them.
type field struct {
	key string
	val cty.Value
}

// fields are d's attributes as values, with the content Nix renders.
func (d *Description) fields() []field {
	fs := []field{{"name", cty.StringVal(d.Name)}, {"tag", cty.StringVal(d.Tag)}}
	if d.Architecture != "" {
		fs = append(fs, field{"architecture", cty.StringVal(d.Architecture)})
	}
	if d.Urunc != "" {
		fs = append(fs, field{"urunc", cty.StringVal(d.Urunc)})
	}
	if d.Base != nil {
		fs = append(fs, field{"from", baseValue(d.Base)})
	}
	local, fromImages := splitCopies(d.Files)
	if len(local) > 0 {
		fs = append(fs, field{"files", copyMap(local)})
	}
	if len(fromImages) > 0 {
		fs = append(fs, field{"contents", copyList(fromImages)})
	}
	if r := d.Rootfs; r != nil {
		rf := map[string]cty.Value{"type": cty.StringVal(r.Type)}
		if r.From != "" {
			rf["from"] = cty.StringVal(r.From)
		}
		if _, fromImages := splitCopies(r.Include); len(fromImages) > 0 {
			rf["include"] = copyList(r.Include)
		} else if len(r.Include) > 0 {
			rf["include"] = copyMap(r.Include)
		}
		fs = append(fs, field{"rootfs", cty.ObjectVal(rf)})
	}
	if len(d.Env) > 0 {
		fs = append(fs, field{"env", stringMap(d.Env)})
	}
	if d.Entrypoint != nil {
		fs = append(fs, field{"entrypoint", stringList(d.Entrypoint)})
	}
	if d.Cmd != nil {
		fs = append(fs, field{"cmd", stringList(d.Cmd)})
	}
	if d.WorkingDir != "" {
		fs = append(fs, field{"workingDir", cty.StringVal(d.WorkingDir)})
	}
	if d.User != "" {
		fs = append(fs, field{"user", cty.StringVal(d.User)})
	}
	return append(fs, field{"annotations", stringMap(d.Annotations)})
}

func baseValue(b *Base) cty.Value {
	m := map[string]cty.Value{"ref": cty.StringVal(b.Ref), "digest": cty.StringVal(b.Digest), "hash": cty.StringVal(b.Hash)}
	if b.Insecure {
		m["insecure"] = cty.True
	}
	return cty.ObjectVal(m)
}

func copyMap(copies []Copy) cty.Value {
	m := map[string]string{}
	for _, c := range copies {
		m[c.Source] = c.Target
	}
	return stringMap(m)
}

func copyList(copies []Copy) cty.Value {
	vs := make([]cty.Value, len(copies))
	for i, c := range copies {
		m := map[string]cty.Value{"source": cty.StringVal(c.Source), "target": cty.StringVal(c.Target)}
		if c.Base != nil {
			m["image"] = baseValue(c.Base)
		}
		vs[i] = cty.ObjectVal(m)
	}
	return cty.TupleVal(vs)
}

func stringMap(m map[string]string) cty.Value {
	if len(m) == 0 {
		return cty.EmptyObjectVal
	}
	vs := map[string]cty.Value{}
	for k, v := range m {
		vs[k] = cty.StringVal(v)
	}
	return cty.ObjectVal(vs)
}

func stringList(words []string) cty.Value {
	if len(words) == 0 {
		return cty.EmptyTupleVal
	}
	vs := make([]cty.Value, len(words))
	for i, w := range words {
		vs[i] = cty.StringVal(w)
	}
	return cty.TupleVal(vs)
}

// head is the comment that heads d rendered in format: Comment, then
// HowToBuild of the file it goes to.
func (d *Description) head(format string) []string {
	file := d.File
	if file == "" {
		file = "args." + format
	}
	if len(d.Comment) == 0 {
		return nil
	}
	return append(slices.Clone(d.Comment), HowToBuild(file)...)
}

// HCL renders d as an args.hcl: the head comment, the attributes, the
// hints as comments at the end.
func (d *Description) HCL() []byte {
	var b bytes.Buffer
	for _, c := range d.head("hcl") {
		b.WriteString(strings.TrimRight("# "+c, " ") + "\n")
	}
	f := hclwrite.NewEmptyFile()
	for _, fl := range d.fields() {
		f.Body().SetAttributeValue(fl.key, fl.val)
	}
	b.Write(hclwrite.Format(f.Bytes()))
	if len(d.Hints) > 0 {
		b.WriteString("\n")
		for _, h := range d.Hints {
			b.WriteString(strings.TrimRight("# "+hintIn("hcl", h), " ") + "\n")
		}
	}
	return b.Bytes()
}

// JSON renders d as an args.json, its comment lines as the list under the
// key "//".
func (d *Description) JSON() []byte {
	var b bytes.Buffer
	b.WriteString("{")
	c := d.head("json")
	for _, h := range d.Hints {
		c = append(c, hintIn("json", h))
	}
	if len(c) > 0 {
		b.WriteString(`"//":`)
		b.Write(marshal(c))
		b.WriteString(",")
	}
	for i, fl := range d.fields() {
		if i > 0 {
			b.WriteString(",")
		}
		k := marshal(fl.key)
		v, err := ctyjson.Marshal(fl.val, fl.val.Type())
		if err != nil {
			// Every value fields makes is known and of a JSON type.
			panic(fmt.Sprintf("scaffold: rendering %s as JSON: %v", fl.key, err))
		}
		b.Write(k)
		b.WriteString(":")
		b.Write(v)
	}
	b.WriteString("}")
	var out bytes.Buffer
	if err := json.Indent(&out, b.Bytes(), "", "  "); err != nil {
		panic(fmt.Sprintf("scaffold: indenting JSON: %v", err))
	}
	out.WriteString("\n")
	return out.Bytes()
}

// marshal is json.Marshal without HTML escapes, for a reader's eyes.
func marshal(v any) []byte {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		panic(fmt.Sprintf("scaffold: rendering %v as JSON: %v", v, err))
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// hintIn returns a hint line in format: the example attribute lines
// (`rootfs = { type = "block"; from = ./disk.img; };`), which hints write
// in Nix, in HCL or JSON; other lines as they are.
func hintIn(format, line string) string {
	if format == "nix" || !strings.HasPrefix(line, "rootfs = {") {
		return line
	}
	l := strings.TrimSuffix(line, ";")
	l = strings.ReplaceAll(l, "; }", " }")
	l = strings.ReplaceAll(l, "; ", ", ")
	l = pathLiteral.ReplaceAllString(l, `$1"$2"`)
	if format == "json" {
		l = strings.ReplaceAll(l, " = ", ": ")
		l = bareKey.ReplaceAllString(l, `"$1":`)
	}
	return l
}

var (
	pathLiteral = regexp.MustCompile(`(\s)(\./[^\s,;}"]+)`)
	bareKey     = regexp.MustCompile(`\b([a-z]+):`)
)
