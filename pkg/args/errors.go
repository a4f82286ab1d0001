package args

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
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

func (e *FieldError) Error() string {
	s := ""
	if e.Where != "" {
		s = e.Where + ": "
	}
	s += e.Field
	if e.Value != "" {
		s += " = " + e.Value
	}
	return s + ": " + e.Reason
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
}

func (c *collector) add(field string, value any, reason string, args ...any) {
	v := ""
	if value != nil {
		v = quote(value)
	}
	where := where(c.a.File, c.a.positions, field)
	c.errs = append(c.errs, &FieldError{Where: where, Field: field, Value: v, Reason: fmt.Sprintf(reason, args...)})
}

func (c *collector) err() error { return errors.Join(c.errs...) }

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
