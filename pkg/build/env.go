package build

import (
	"errors"
	"strconv"
	"time"

	"github.com/nubificus/bunix/pkg/args"
	"github.com/nubificus/bunix/pkg/registry"
)

// FromEnv returns the options the environment sets, read through getenv,
// the one place that reads it: the creation time from SOURCE_DATE_EPOCH
// (seconds since 1970), when set, and how a base is pulled
// (registry.FromEnv: registry.TimeoutEnv). Both bunix build and the Nix
// builder take their options from here; a bad value is a user error
// (IsUserError).
func FromEnv(getenv func(string) string) ([]Option, error) {
	ropts, err := registry.FromEnv(getenv)
	var ee *registry.EnvError
	if errors.As(err, &ee) {
		return nil, &args.FieldError{Where: "environment", Field: ee.Name, Value: strconv.Quote(ee.Value), Reason: ee.Reason}
	}
	var opts []Option
	if len(ropts) > 0 {
		opts = append(opts, WithRegistryOptions(ropts...))
	}
	s := getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return opts, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return nil, &args.FieldError{Where: "environment", Field: "SOURCE_DATE_EPOCH", Value: strconv.Quote(s), Reason: "want a non-negative number of seconds since 1970"}
	}
	return append(opts, WithCreated(time.Unix(n, 0).UTC())), nil
}
