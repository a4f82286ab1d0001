package args

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	hcljson "github.com/hashicorp/hcl/v2/json"
	"github.com/nubificus/bunix/internal/msg"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// DecodeHCL decodes a description written in HCL (args.hcl) or, when file
// ends in .json, in JSON through HCL's JSON parser. Syntax errors and field
// errors carry file:line:col. root is the directory relative sources are
// resolved against. src larger than MaxFileSize or nested deeper than
// MaxNesting is refused before it is parsed, and expressions that could
// cost more than MaxEvalWork before they are evaluated (see checkHCLWork).
//
//	name = "urunc/hello"
//	files = { "./kernel" = "/unikernel/kernel" }
//	annotations = { unikernelType = "unikraft", hypervisor = "qemu", binary = "/unikernel/kernel" }
func DecodeHCL(src []byte, file, root string) (*Args, error) {
	if len(src) > MaxFileSize {
		return nil, tooLarge(file, MaxFileSize)
	}
	var f *hcl.File
	var diags hcl.Diagnostics
	if strings.HasSuffix(file, ".json") {
		// A byte order mark, as Windows editors write one, is read past,
		// as HCL's native parser reads past it; HCL's JSON parser would
		// say the file does not start with a value.
		src = bytes.TrimPrefix(src, []byte("\ufeff"))
		if err := checkJSONDepth(src, file); err != nil {
			return nil, err
		}
		f, diags = hcljson.Parse(src, file)
	} else {
		if err := checkHCLDepth(src, file); err != nil {
			return nil, err
		}
		f, diags = hclsyntax.ParseConfig(src, file, hcl.InitialPos)
	}
	if diags.HasErrors() {
		return nil, diagError(diags)
	}
	attrs, diags := f.Body.JustAttributes()
	if diags.HasErrors() {
		return nil, diagError(diags)
	}
	if err := checkHCLWork(attrs); err != nil {
		return nil, err
	}
	m := map[string]any{}
	pos := map[string]string{}
	for name, attr := range attrs {
		v, d := attr.Expr.Value(nil)
		if d.HasErrors() {
			diags = append(diags, d...)
			continue
		}
		pos[name] = position(attr.Expr.Range())
		nestedPositions(name, attr.Expr, pos)
		if v.IsNull() {
			m[name] = nil
			continue
		}
		b, err := ctyjson.Marshal(v, v.Type())
		if err != nil {
			return nil, &EvalError{File: position(attr.Expr.Range()), Message: fmt.Sprintf("%s: %v", name, err)}
		}
		jv, err := parseJSON(b)
		if err != nil {
			return nil, fmt.Errorf("decoding %s of %s: %w", name, file, err)
		}
		m[name] = shortNumbers(jv)
	}
	if diags.HasErrors() {
		return nil, diagError(diags)
	}
	return fromValue(m, file, root, pos, false)
}

// diagError turns HCL diagnostics into an EvalError, one line each:
// "file:line:col: summary: detail".
func diagError(diags hcl.Diagnostics) error {
	var lines []string
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		if len(lines) == MaxReported {
			lines = append(lines, moreProblems(len(diags.Errs())-MaxReported).Error())
			break
		}
		line := d.Summary
		if d.Subject != nil {
			line = position(*d.Subject) + ": " + line
		}
		if d.Detail != "" {
			line += ": " + d.Detail
		}
		lines = append(lines, msg.Cut(line, maxReason))
	}
	return &EvalError{Message: strings.Join(lines, "\n")}
}

func position(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}

// nestedPositions records where the items of files, annotations, env,
// contents, rootfs and rootfs.include stand, under the field names
// FieldErrors use. hcl.ExprMap and hcl.ExprList read objects and lists of
// both syntaxes, so args.json gets the same positions as args.hcl.
func nestedPositions(name string, expr hcl.Expression, pos map[string]string) {
	if pairs, d := hcl.ExprMap(expr); !d.HasErrors() {
		for _, item := range pairs {
			k, d := item.Key.Value(nil)
			if d.HasErrors() || !k.IsKnown() || k.IsNull() || k.Type() != cty.String {
				continue
			}
			key := k.AsString()
			field := name + "." + key
			if name == "files" || name == "rootfs.include" {
				// The key is the copy's source, the value its target:
				// a problem with the source points at the key.
				field = fmt.Sprintf("%s.%q", name, key)
				pos[field+".source"] = position(item.Key.Range())
			}
			pos[field] = position(item.Value.Range())
			if name == "rootfs" {
				nestedPositions(field, item.Value, pos)
			}
		}
		return
	}
	items, d := hcl.ExprList(expr)
	if d.HasErrors() {
		return
	}
	if name == "entrypoint" || name == "cmd" {
		for i, item := range items {
			pos[fmt.Sprintf("%s[%d]", name, i)] = position(item.Range())
		}
		return
	}
	if name != "contents" && name != "rootfs.include" {
		return
	}
	for i, item := range items {
		field := fmt.Sprintf("%s[%d]", name, i)
		pos[field] = position(item.Range())
		// Where the item is an object, its source and target stand
		// where they are written, which may be lines below its brace.
		pairs, d := hcl.ExprMap(item)
		if d.HasErrors() {
			continue
		}
		for _, kv := range pairs {
			k, d := kv.Key.Value(nil)
			if d.HasErrors() || !k.IsKnown() || k.IsNull() || k.Type() != cty.String {
				continue
			}
			if key := k.AsString(); key == "source" || key == "target" {
				pos[field+"."+key] = position(kv.Value.Range())
			}
		}
	}
}

// shortNumbers returns v, decoded from HCL's JSON, with each long number
// in it written short: HCL reads a number into a 512-bit float, which
// ctyjson writes in plain digits, so 1e400, where a string goes, would be
// echoed as 401 digits. The shortest form that reads back as the same
// float (1e+400) is what the user wrote, or near it; a number that has no
// shorter form stays as it is, for a message to cut. No field takes a
// number of more than 32 characters, so none changes what it means.
func shortNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		s := x.String()
		if len(s) <= 32 {
			return x
		}
		f, _, err := big.ParseFloat(s, 10, 512, big.ToNearestEven)
		if err != nil {
			return x
		}
		if g := f.Text('g', -1); len(g) < len(s) {
			return json.Number(g)
		}
		return x
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = shortNumbers(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = shortNumbers(e)
		}
		return out
	}
	return v
}
