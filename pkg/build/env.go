package build

import (
	"strconv"
	"time"

	"github.com/nubificus/bunix/pkg/args"
)

// FromEnv returns the options the environment sets, read through getenv,
// the one place that reads it: the creation time from SOURCE_DATE_EPOCH
// (seconds since 1970), when set. Both bunix build and the Nix builder take
// their options from here; a bad value is a user error (IsUserError).
func FromEnv(getenv func(string) string) ([]Option, error) {
	s := getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return nil, &args.FieldError{Where: "environment", Field: "SOURCE_DATE_EPOCH", Value: strconv.Quote(s), Reason: "want a non-negative number of seconds since 1970"}
	}
	return []Option{WithCreated(time.Unix(n, 0).UTC())}, nil
}
