package args

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Default caps of an args.nix evaluation: what nix-instantiate may use of
// memory (resident) and of time before bunix stops it. EvalFromEnv reads
// other values from BUNIX_EVAL_MEMORY and BUNIX_EVAL_TIMEOUT.
const (
	DefaultEvalMemory  = 4 << 30
	DefaultEvalTimeout = 120 * time.Second
)

// evalPoll is how often the memory of an evaluation is looked at.
const evalPoll = 20 * time.Millisecond

// LoadOption changes how Load reads a description.
type LoadOption func(*evalLimits)

// evalLimits are the caps of one evaluation.
type evalLimits struct {
	memory  int64
	timeout time.Duration
}

// WithEvalMemory caps the resident memory of an args.nix evaluation at
// bytes (DefaultEvalMemory when not given; 0 for no cap): nix-instantiate
// is stopped when it uses more, and Load fails with an *EvalError.
func WithEvalMemory(bytes int64) LoadOption {
	return func(l *evalLimits) { l.memory = bytes }
}

// WithEvalTimeout caps the time of an args.nix evaluation at d
// (DefaultEvalTimeout when not given; 0 for no cap): nix-instantiate is
// stopped when it runs longer, and Load fails with an *EvalError.
func WithEvalTimeout(d time.Duration) LoadOption {
	return func(l *evalLimits) { l.timeout = d }
}

// EvalFromEnv returns the Load options the environment sets, read through
// getenv: BUNIX_EVAL_MEMORY, the memory cap of an evaluation (bytes, or
// with a binary unit: 512MiB, 8GiB, 8G), and BUNIX_EVAL_TIMEOUT, its time
// cap (a Go duration, 90s or 5m, or seconds). A bad value is a
// *FieldError.
func EvalFromEnv(getenv func(string) string) ([]LoadOption, error) {
	var opts []LoadOption
	var errs []error
	if s := getenv("BUNIX_EVAL_MEMORY"); s != "" {
		n, err := parseSize(s)
		if err != nil {
			errs = append(errs, &FieldError{Where: "environment", Field: "BUNIX_EVAL_MEMORY", Value: strconv.Quote(s), Reason: err.Error()})
		} else {
			opts = append(opts, WithEvalMemory(n))
		}
	}
	if s := getenv("BUNIX_EVAL_TIMEOUT"); s != "" {
		d, err := time.ParseDuration(s)
		if n, nerr := strconv.ParseInt(s, 10, 64); nerr == nil && n > 0 && n <= int64(1<<62/time.Second) {
			d, err = time.Duration(n)*time.Second, nil
		}
		if err != nil || d <= 0 {
			errs = append(errs, &FieldError{Where: "environment", Field: "BUNIX_EVAL_TIMEOUT", Value: strconv.Quote(s), Reason: "want a positive duration, such as 120s or 5m, or a number of seconds"})
		} else {
			opts = append(opts, WithEvalTimeout(d))
		}
	}
	return opts, errors.Join(errs...)
}

// parseSize parses a positive size in bytes, with an optional binary unit
// (K, KiB, M, MiB, G, GiB, any case).
func parseSize(s string) (int64, error) {
	bad := errors.New("want a positive size, such as 4GiB, 512MiB or a number of bytes")
	num := strings.TrimRightFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	shift := map[string]uint{"": 0, "b": 0, "k": 10, "kib": 10, "m": 20, "mib": 20, "g": 30, "gib": 30}
	sh, ok := shift[strings.ToLower(strings.TrimSpace(s[len(num):]))]
	if !ok {
		return 0, bad
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)>>sh {
		return 0, bad
	}
	return n << sh, nil
}

// showSize writes n bytes as a person would: "4 GiB", "64 MiB", else
// "N bytes".
func showSize(n int64) string {
	switch {
	case n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// runCapped runs bin with argv under lim: it kills the process when its
// resident memory, looked at every evalPoll, is more than lim.memory, or
// when it runs longer than lim.timeout (a cap of 0 is none), and then returns an *EvalError
// saying which ("evaluating args.nix used more than 4 GiB of memory").
// A cancelled ctx gives ctx's error; a process that fails by itself, its
// *exec.ExitError.
func runCapped(ctx context.Context, bin string, argv []string, stdout, stderr io.Writer, lim evalLimits, display string) error {
	tctx, cancel := ctx, context.CancelFunc(func() {})
	if lim.timeout > 0 {
		tctx, cancel = context.WithTimeout(ctx, lim.timeout)
	}
	defer cancel()
	cmd := exec.CommandContext(tctx, bin, argv...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("running nix-instantiate on %s: %w", display, err)
	}
	var overMemory atomic.Bool
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(evalPoll)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if rss, err := residentBytes(cmd.Process.Pid); err == nil && lim.memory > 0 && rss > lim.memory {
					overMemory.Store(true)
					_ = cmd.Process.Kill()
					return
				}
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	wg.Wait()
	switch {
	case overMemory.Load():
		return &EvalError{Message: fmt.Sprintf("evaluating %s used more than %s of memory, the cap: set BUNIX_EVAL_MEMORY to allow more (e.g. BUNIX_EVAL_MEMORY=%s), or make the description smaller", display, showSize(lim.memory), strings.ReplaceAll(showSize(lim.memory*2), " ", ""))}
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(tctx.Err(), context.DeadlineExceeded):
		return &EvalError{Message: fmt.Sprintf("evaluating %s took more than %v, the cap: set BUNIX_EVAL_TIMEOUT to allow longer (e.g. BUNIX_EVAL_TIMEOUT=%v), or make the description simpler", display, lim.timeout, (lim.timeout * 2).Round(time.Second))}
	case err != nil:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return err
		}
		return fmt.Errorf("running nix-instantiate on %s: %w", display, err)
	}
	return nil
}

// residentBytes returns the resident memory of process pid, from
// /proc/PID/statm.
func residentBytes(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/statm")
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, fmt.Errorf("reading /proc/%d/statm: %q has no resident size", pid, b)
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("reading /proc/%d/statm: %w", pid, err)
	}
	return pages * int64(os.Getpagesize()), nil
}
