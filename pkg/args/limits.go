package args

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Limits on a description, checked before its bytes reach a parser or an
// evaluator: the HCL and JSON parsers recurse once per level of nesting and
// die of an unrecoverable stack overflow on deep input, and HCL's for
// expressions can ask for exponential work from a few lines.
const (
	// MaxFileSize is the largest args.json, args.hcl or args.nix read.
	MaxFileSize = 1 << 20
	// MaxEvalOutput is the most JSON read from nix-instantiate.
	MaxEvalOutput = 16 << 20
	// MaxNesting is the deepest nesting of brackets, braces, parentheses,
	// strings and templates (and of runs of unary operators) accepted.
	MaxNesting = 64
	// MaxExprNodes is the most expression nodes one args.hcl may hold.
	MaxExprNodes = 200_000
	// MaxEvalWork bounds the values an args.hcl's expressions may produce,
	// counted before evaluating (see checkHCLWork).
	MaxEvalWork = 1_000_000
)

// tooLarge is the error for a file over MaxFileSize.
func tooLarge(file string, limit int) error {
	return &EvalError{File: file, Message: fmt.Sprintf("larger than %d bytes (%d MiB), the most bunix reads for a description", limit, limit>>20)}
}

// tooDeep is the error for input nested deeper than MaxNesting.
func tooDeep(file string, line, col int) error {
	return &EvalError{File: fmt.Sprintf("%s:%d:%d", file, line, col), Message: fmt.Sprintf("nested deeper than %d levels, the most bunix reads in a description", MaxNesting)}
}

// checkJSONDepth scans JSON for [ and { outside strings and refuses nesting
// deeper than MaxNesting, before encoding/json or HCL's JSON parser (both
// recursive) see it. It does not validate the JSON otherwise.
func checkJSONDepth(src []byte, file string) error {
	depth, line, col := 0, 1, 0
	inString, escaped := false, false
	for _, b := range src {
		col++
		if b == '\n' {
			line, col = line+1, 0
		}
		switch {
		case inString && escaped:
			escaped = false
		case inString && b == '\\':
			escaped = true
		case inString:
			inString = b != '"'
		case b == '"':
			inString = true
		case b == '[' || b == '{':
			if depth++; depth > MaxNesting {
				return tooDeep(file, line, col)
			}
		case b == ']' || b == '}':
			depth--
		}
	}
	return nil
}

// checkHCLDepth lexes HCL native syntax (HCL's lexer is not recursive) and
// refuses nesting deeper than MaxNesting: brackets, braces, parentheses,
// quoted strings, heredocs and template sequences, runs of unary
// operators (`- - - 1`) and the splats of one attribute (`a[*][*].*`),
// each of which costs the parser a level of recursion.
func checkHCLDepth(src []byte, file string) error {
	tokens, _ := hclsyntax.LexConfig(src, file, hcl.InitialPos)
	depth, unary, splats := 0, 0, 0
	for i, t := range tokens {
		switch t.Type {
		case hclsyntax.TokenOBrace, hclsyntax.TokenOBrack, hclsyntax.TokenOParen,
			hclsyntax.TokenOQuote, hclsyntax.TokenOHeredoc,
			hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl:
			depth++
		case hclsyntax.TokenCBrace, hclsyntax.TokenCBrack, hclsyntax.TokenCParen,
			hclsyntax.TokenCQuote, hclsyntax.TokenCHeredoc, hclsyntax.TokenTemplateSeqEnd:
			depth--
		}
		if t.Type == hclsyntax.TokenMinus || t.Type == hclsyntax.TokenBang {
			unary++
		} else {
			unary = 0
		}
		// Each splat ([*] or .*) after the first recurses too.
		if t.Type == hclsyntax.TokenStar && i > 0 && (tokens[i-1].Type == hclsyntax.TokenOBrack || tokens[i-1].Type == hclsyntax.TokenDot) {
			splats++
		}
		if t.Type == hclsyntax.TokenNewline && depth == 0 {
			splats = 0
		}
		if depth+unary+splats > MaxNesting {
			return tooDeep(file, t.Range.Start.Line, t.Range.Start.Column)
		}
	}
	return nil
}

// checkHCLWork bounds what evaluating the expressions of an args.hcl can
// cost, before evaluating them: it walks each expression's syntax tree,
// refusing more than MaxExprNodes nodes or a tree deeper than MaxNesting
// (counting only nodes that nest), and computes an upper bound on the
// number of values each expression yields. A for expression over a
// collection of n values yields at most n times what its body yields, with
// its variables bounded by n; templates, tuples and objects yield the sum
// of their parts. The sum of those bounds over every for expression must
// stay within MaxEvalWork. There is no deadline: evaluation is refused up
// front, or runs over a bounded amount of work.
func checkHCLWork(attrs hcl.Attributes) error {
	w := &workCounter{}
	for _, name := range sortedKeys(attrs) {
		if expr, ok := attrs[name].Expr.(hclsyntax.Expression); ok {
			w.size(expr, 0, nil)
		}
		if w.err != nil {
			return w.err
		}
	}
	return nil
}

// workCounter walks expressions for checkHCLWork; err is the first limit
// exceeded.
type workCounter struct {
	nodes, work int64
	err         error
}

// satAdd and satMul add and multiply sizes, saturating far above every
// limit so that no bound overflows.
func satAdd(a, b int64) int64 { return min(a+b, 1<<40) }
func satMul(a, b int64) int64 {
	if a != 0 && b > (1<<40)/a {
		return 1 << 40
	}
	return min(a*b, 1<<40)
}

func (w *workCounter) fail(r hcl.Range, format string, args ...any) int64 {
	if w.err == nil {
		w.err = &EvalError{File: position(r), Message: fmt.Sprintf(format, args...)}
	}
	return 1
}

// size returns an upper bound on the number of values e yields, vars
// bounding the for variables in scope.
func (w *workCounter) size(e hclsyntax.Expression, depth int, vars map[string]int64) int64 {
	if w.err != nil {
		return 1
	}
	if w.nodes++; w.nodes > MaxExprNodes {
		return w.fail(e.Range(), "more than %d expressions, the most bunix evaluates in a description", MaxExprNodes)
	}
	if depth > MaxNesting {
		return w.fail(e.Range(), "expression nested deeper than %d levels, the most bunix evaluates in a description", MaxNesting)
	}
	sum := func(es ...hclsyntax.Expression) int64 {
		n := int64(1)
		for _, x := range es {
			if x != nil {
				n = satAdd(n, w.size(x, depth+1, vars))
			}
		}
		return n
	}
	switch x := e.(type) {
	case *hclsyntax.ForExpr:
		n := w.size(x.CollExpr, depth+1, vars)
		inner := map[string]int64{}
		for k, v := range vars {
			inner[k] = v
		}
		for _, v := range []string{x.KeyVar, x.ValVar} {
			if v != "" {
				inner[v] = n
			}
		}
		per := int64(1)
		for _, b := range []hclsyntax.Expression{x.KeyExpr, x.ValExpr, x.CondExpr} {
			if b != nil {
				per = satAdd(per, w.size(b, depth+1, inner))
			}
		}
		total := satMul(n, per)
		if w.work = satAdd(w.work, total); w.work > MaxEvalWork {
			return w.fail(x.SrcRange, "for expressions that may yield more than %d values, the most bunix evaluates in a description", MaxEvalWork)
		}
		return total
	case *hclsyntax.SplatExpr:
		n := w.size(x.Source, depth+1, vars)
		inner := map[string]int64{"": n}
		for k, v := range vars {
			inner[k] = v
		}
		total := satMul(n, w.size(x.Each, depth+1, inner))
		if w.work = satAdd(w.work, total); w.work > MaxEvalWork {
			return w.fail(x.SrcRange, "a splat expression that may yield more than %d values, the most bunix evaluates in a description", MaxEvalWork)
		}
		return total
	case *hclsyntax.AnonSymbolExpr:
		return max(vars[""], 1)
	case *hclsyntax.ScopeTraversalExpr:
		if n, ok := vars[x.Traversal.RootName()]; ok {
			return n
		}
		return 1
	case *hclsyntax.LiteralValueExpr, *hclsyntax.ExprSyntaxError:
		return 1
	case *hclsyntax.TupleConsExpr:
		return sum(x.Exprs...)
	case *hclsyntax.ObjectConsExpr:
		n := int64(1)
		for _, item := range x.Items {
			n = satAdd(n, sum(item.KeyExpr, item.ValueExpr))
		}
		return n
	case *hclsyntax.ObjectConsKeyExpr:
		return sum(x.Wrapped)
	case *hclsyntax.TemplateExpr:
		return sum(x.Parts...)
	case *hclsyntax.TemplateWrapExpr:
		return sum(x.Wrapped)
	case *hclsyntax.TemplateJoinExpr:
		return sum(x.Tuple)
	case *hclsyntax.ParenthesesExpr:
		return sum(x.Expression)
	case *hclsyntax.ConditionalExpr:
		return sum(x.Condition, x.TrueResult, x.FalseResult)
	case *hclsyntax.BinaryOpExpr:
		return sum(x.LHS, x.RHS)
	case *hclsyntax.UnaryOpExpr:
		return sum(x.Val)
	case *hclsyntax.IndexExpr:
		return sum(x.Collection, x.Key)
	case *hclsyntax.RelativeTraversalExpr:
		return sum(x.Source)
	case *hclsyntax.FunctionCallExpr:
		return sum(x.Args...)
	}
	return w.fail(e.Range(), "an expression bunix does not evaluate (%T)", e)
}
