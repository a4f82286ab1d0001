package args

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nubificus/bunix/internal/msg"
)

// FieldError is one problem with one field of an image description.
type FieldError struct {
	// Where is "file" or "file:line:col".
	Where string
	// Field is the field's name, e.g. `annotations.hypervisor` or
	// `files."./redis.hvt"`.
	Field string
	// Value is the offending value as it would be written, e.g. `"qemu2"`;
	// empty when there is none (a missing field).
	Value string
	// Reason says what is wrong and, where it can, what to do.
	Reason string
}

// Error renders the problem on one line. Every part is cut short (by the
// rule of internal/msg), so that a 10 MB value gives a short message, not
// 20 MB of stderr: a quoted value stays quoted, cut inside its quotes. In
// the reason each long word (a path) is cut first, so that what follows
// it (": file name too long") stays.
func (e *FieldError) Error() string {
	s := ""
	if e.Where != "" {
		s = msg.Cut(e.Where, maxShown) + ": "
	}
	s += msg.Cut(e.Field, maxShown)
	if e.Value != "" {
		s += " = " + showValue(e.Value)
	}
	return s + ": " + msg.Cut(msg.CutWords(e.Reason, maxShown), maxReason)
}

// showValue returns v, a value as it would be written, cut for a message:
// a quoted string is quoted again by msg.Quote, anything else cut by
// msg.Cut.
func showValue(v string) string {
	if u, err := strconv.Unquote(v); err == nil && v[0] == '"' {
		return msg.Quote(u, maxShown)
	}
	return msg.Cut(v, maxShown)
}

// maxShown and maxReason are how many bytes of a position, a field name or
// a value, and of a reason (which may quote a value), a message shows:
// enough for any path a user would write, not for 10 MB.
const (
	maxShown  = 256
	maxReason = 1024
)

// MaxReported is how many problems one error reports; the rest are
// counted in a last line, "and N more problems".
const MaxReported = 20

// moreProblems stands for the problems left out of a report.
type moreProblems int

func (n moreProblems) Error() string {
	if n == 1 {
		return "and 1 more problem"
	}
	return fmt.Sprintf("and %d more problems", int(n))
}

// joinCapped joins errs, at most MaxReported of them, and a count of the
// rest.
func joinCapped(errs []error) error {
	if len(errs) > MaxReported {
		errs = append(errs[:MaxReported:MaxReported], moreProblems(len(errs)-MaxReported))
	}
	return errors.Join(errs...)
}

// IsUserError reports whether err (or any error joined in it) says the input
// was wrong, rather than that something failed while working on good input.
func IsUserError(err error) bool {
	var fe *FieldError
	var ee *EvalError
	return errors.As(err, &fe) || errors.As(err, &ee)
}

// EvalError is a failure to evaluate or parse a description file: a syntax
// error, or Nix refusing to evaluate it. Its message is the evaluator's.
type EvalError struct {
	// File names the file when Message does not (Nix's messages); HCL's
	// messages carry file:line:col themselves.
	File    string
	Message string
}

func (e *EvalError) Error() string {
	if e.File == "" {
		return e.Message
	}
	return e.File + ": " + e.Message
}

// quote renders a value for a message: strings quoted, other values as JSON.
func quote(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	if v == nil {
		return "null"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// collector gathers FieldErrors for one description.
type collector struct {
	a    *Args
	errs []error
	// fields are the fields errs are about.
	fields []string
	// skip are fields already reported (while decoding): a problem with
	// one of them, or with a field inside or around one, is not added.
	skip []string
}

func (c *collector) add(field string, value any, reason string, args ...any) {
	c.addAt(where(c.a.File, c.a.positions, field), field, value, reason, args...)
}

// addAt is add of a problem found at the position at, which may be that of
// a part of field (the target of contents[1]) rather than of field.
func (c *collector) addAt(at, field string, value any, reason string, args ...any) {
	for _, s := range c.skip {
		if related(field, s) {
			return
		}
	}
	v := ""
	if value != nil {
		v = quote(value)
	}
	c.errs = append(c.errs, &FieldError{Where: at, Field: field, Value: v, Reason: fmt.Sprintf(reason, args...)})
	c.fields = append(c.fields, field)
}

// unknown adds a problem with a field that should not be there at all:
// unlike a field of the wrong type, it leaves nothing for Resolve to skip.
func (c *collector) unknown(field, reason string, args ...any) {
	c.add(field, nil, reason, args...)
	c.fields = c.fields[:len(c.fields)-1]
}

// related reports whether fields a and b are the same field or one holds
// the other: annotations and annotations.binary, contents[0] and
// contents[0].source.
func related(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	return a == b || strings.HasPrefix(b, a) && (b[len(a)] == '.' || b[len(a)] == '[')
}

// err returns the problems found, at most MaxReported of them and a count
// of the rest.
func (c *collector) err() error { return joinCapped(c.errs) }

// where returns the position of field, else of the field holding it (for
// annotations.binary, annotations), else file.
func where(file string, positions map[string]string, field string) string {
	if p, ok := positions[field]; ok {
		return p
	}
	if i := strings.IndexAny(field, ".["); i > 0 {
		if p, ok := positions[field[:i]]; ok {
			return p
		}
	}
	return file
}
