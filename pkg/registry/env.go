package registry

import (
	"fmt"
	"strconv"
	"time"

	"github.com/nubificus/bunix/internal/msg"
)

// TimeoutEnv is the environment variable that sets WithTimeout for every
// command that talks to a registry, nix-build's pulls included: a
// duration ("90s", "5m") or a number of seconds.
const TimeoutEnv = "BUNIX_REGISTRY_TIMEOUT"

// EnvError is a variable of the environment with a value bunix cannot
// use: the user's input.
type EnvError struct {
	Name, Value, Reason string
}

func (e *EnvError) Error() string {
	return fmt.Sprintf("environment: %s = %s: %s", e.Name, msg.Quote(e.Value, 60), e.Reason)
}

// FromEnv returns the options the environment sets (TimeoutEnv); getenv
// is how the caller reads it. A bad value is an *EnvError.
func FromEnv(getenv func(string) string) ([]Option, error) {
	s := getenv(TimeoutEnv)
	if s == "" {
		return nil, nil
	}
	d, err := ParseTimeout(s)
	if err != nil {
		return nil, &EnvError{Name: TimeoutEnv, Value: s, Reason: err.Error()}
	}
	return []Option{WithTimeout(d)}, nil
}

// ParseTimeout reads a timeout: a Go duration ("90s", "1m30s") or a whole
// number of seconds ("90"), more than zero.
func ParseTimeout(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		n, nerr := strconv.ParseInt(s, 10, 64)
		if nerr != nil || n > int64(1<<62/time.Second) {
			return 0, fmt.Errorf("want a duration such as 90s or 5m, or a number of seconds")
		}
		d = time.Duration(n) * time.Second
	}
	if d <= 0 {
		return 0, fmt.Errorf("want a duration of more than 0s")
	}
	return d, nil
}
