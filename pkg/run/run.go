package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nubificus/bunix/pkg/registry"
	"github.com/nubificus/bunix/pkg/source"
)

// Options say what to run and how: bunix run's command line.
type Options struct {
	// Image is the IMAGE argument (Open); Stdin is read for "-".
	Image string
	Stdin source.Input
	// Process changes the image's process (words after IMAGE,
	// --entrypoint, --env).
	Process Process
	// MemoryMiB and CPUs size the guest (0: urunc's defaults); Accel is
	// AccelKVM, AccelTCG or "" (KVM when /dev/kvm works, else TCG, said
	// on Stderr); Ports are forwarded with qemu's user-mode network; Arch
	// is the architecture of the image to run (the entry of an index;
	// ParsePlatform), amd64 when empty: another than this machine's runs
	// on qemu under TCG only.
	MemoryMiB uint64
	CPUs      uint
	Accel     string
	Ports     []Port
	Arch      string
	// Timeout stops the guest after that long (0: never).
	Timeout time.Duration
	// DryRun prints the command line (and the files written beside the
	// monitor) on Stdout instead of running it.
	DryRun bool
	// Urunc is the urunc release whose ways the run follows (the zero
	// Behaviour: Newest).
	Urunc Behaviour
	// Registry are the options of a pull.
	Registry []registry.Option
	// TempDir is where the private directory goes (os.TempDir() if "").
	TempDir string
	// Stdout gets the guest's console (or the dry run); Stderr bunix's
	// and the monitor's messages.
	Stdout, Stderr io.Writer
}

// Run boots o.Image as urunc would: opens it, unpacks it into a private
// directory (removed before Run returns, whatever happens), reads urunc's
// settings, builds the monitor's command line and runs it (Exec), or
// prints it (DryRun).
func Run(ctx context.Context, o Options) error {
	if o.Timeout < 0 {
		return &UsageError{fmt.Errorf("--timeout %s: want a positive duration, e.g. 2m (none: never)", o.Timeout)}
	}
	// Two forwards from one host port: qemu would refuse the second at
	// start ("could not set up host forwarding rule").
	for i, p := range o.Ports {
		for _, q := range o.Ports[:i] {
			if p.Host == q.Host {
				return &UsageError{fmt.Errorf("-p %d:%d: host port %d is already forwarded (to %d): give each host port once", p.Host, p.Guest, p.Host, q.Guest)}
			}
		}
	}
	if o.Arch == "" {
		o.Arch = "amd64"
	}
	switch o.Accel {
	case "", AccelKVM, AccelTCG:
	default:
		return &UsageError{fmt.Errorf("--accel %q: want kvm or tcg", o.Accel)}
	}
	src, err := Open(ctx, o.Image, o.Stdin, o.Arch, o.Registry...)
	if err != nil {
		return err
	}
	defer src.Close()
	dir, err := os.MkdirTemp(o.TempDir, "bunix-run-")
	if errors.Is(err, syscall.ENOTDIR) {
		// TMPDIR names a file or a device: the user's, as a TMPDIR that
		// does not exist is.
		return &UsageError{fmt.Errorf("making the run's private directory: %w: set TMPDIR to a directory", err)}
	}
	if err != nil {
		return fmt.Errorf("making the run's private directory: %w", err)
	}
	defer os.RemoveAll(dir)
	if err := argSafe(dir); err != nil {
		return &UsageError{fmt.Errorf("the run's private directory %q (in TMPDIR or the system's temporary directory) %w: set TMPDIR to a directory whose path has none", dir, err)}
	}
	if o.Urunc.Runs == nil {
		o.Urunc = Newest
	}
	l, err := Load(ctx, src.Image, src.Annotations, o.Process, dir, o.Urunc)
	if err != nil {
		return fmt.Errorf("reading %s: %w", src.Name, err)
	}
	for _, w := range l.Warnings {
		fmt.Fprintln(o.Stderr, "bunix: warning: "+w)
	}
	m := &Machine{MemoryMiB: o.MemoryMiB, CPUs: o.CPUs, Accel: o.Accel, Arch: o.Arch, Dir: dir}
	if len(o.Ports) > 0 {
		m.Net = &Net{MAC: UserNetMAC, Ports: o.Ports}
	}
	if o.Arch != runtime.GOARCH {
		// Another machine's guest: only qemu emulates it, and never
		// with KVM.
		switch {
		case l.Guest.Monitor != "qemu":
			return &UsageError{fmt.Errorf("%s: a linux/%s guest on %s: only qemu emulates another architecture than this machine's (%s)", src.Name, o.Arch, l.Guest.Monitor, runtime.GOARCH)}
		case m.Accel == AccelKVM:
			return &UsageError{fmt.Errorf("--accel kvm: a linux/%s guest cannot use KVM on this %s machine: use --accel tcg", o.Arch, runtime.GOARCH)}
		}
		m.Accel = AccelTCG
	}
	if m.Accel == "" {
		m.Accel = AccelKVM
		if err := KVMUsable(); err != nil {
			m.Accel = AccelTCG
			if l.Guest.Monitor == "qemu" {
				fmt.Fprintf(o.Stderr, "bunix: no KVM here (%v): qemu emulates the CPU (TCG), which is slower; --accel tcg says so and drops this note\n", err)
			}
		}
	}
	plan, err := Command(l.Guest, m)
	if err != nil {
		return &UsageError{fmt.Errorf("%s: %w", src.Name, err)}
	}
	if o.DryRun {
		return printPlan(o.Stdout, plan, m)
	}
	return Exec(ctx, plan, l.Guest, m, o.Stdout, o.Stderr, o.Timeout)
}

// UsageError is a mistake on the command line.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }

// Unwrap returns the underlying error.
func (e *UsageError) Unwrap() error { return e.Err }

// printPlan writes the command line, quoted for a shell, then each file
// written beside the monitor under a "# PATH:" line.
func printPlan(w io.Writer, plan *Plan, m *Machine) error {
	if _, err := fmt.Fprintln(w, ShellQuote(plan.Argv)); err != nil {
		return err
	}
	names := make([]string, 0, len(plan.Files))
	for name := range plan.Files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		data := plan.Files[name]
		if !strings.HasSuffix(string(data), "\n") {
			data = append(data, '\n')
		}
		if _, err := fmt.Fprintf(w, "# %s:\n%s", filepath.Join(m.Dir, name), data); err != nil {
			return err
		}
	}
	return nil
}

// ShellQuote renders argv as a POSIX shell would need it typed.
func ShellQuote(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") == "" {
			out[i] = a
		} else {
			out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(out, " ")
}

// ParseEnv reads the --env and --env-file values of docker run: KEY=VALUE,
// or KEY alone for the value getenv gives (left out when unset); files
// hold one such line each, blank lines and lines starting with # skipped.
// readFile reads an env file.
func ParseEnv(env, files []string, getenv func(string) (string, bool), readFile func(string) ([]byte, error)) ([]string, error) {
	var out []string
	add := func(where, kv string) error {
		name, _, hasValue := strings.Cut(kv, "=")
		if name == "" || strings.ContainsAny(name, " \t") {
			return &UsageError{fmt.Errorf("%s %q: want KEY=VALUE, KEY a name without spaces", where, kv)}
		}
		if hasValue {
			out = append(out, kv)
		} else if v, ok := getenv(name); ok {
			out = append(out, name+"="+v)
		}
		return nil
	}
	for _, f := range files {
		data, err := readFile(f)
		if err != nil {
			return nil, &UsageError{fmt.Errorf("--env-file %s: %w", f, err)}
		}
		for i, line := range strings.Split(string(data), "\n") {
			line = strings.TrimRight(line, "\r")
			if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
				continue
			}
			if err := add(fmt.Sprintf("--env-file %s: line %d:", f, i+1), strings.TrimLeft(line, " \t")); err != nil {
				return nil, err
			}
		}
	}
	for _, kv := range env {
		if err := add("--env", kv); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// MaxEnvFile is the most ReadEnvFile reads of one --env-file: far more
// than any guest's command line or urunit's config can carry.
const MaxEnvFile = 1 << 20

// ReadEnvFile reads an --env-file: a file, or a pipe (docker run
// --env-file <(...) is common), of at most MaxEnvFile bytes, so that
// /dev/zero or an endless pipe is an error, not all of memory. It returns
// when ctx ends, even while opening a pipe no one writes to blocks (an
// open(2) that no signal interrupts): the read is then left behind.
func ReadEnvFile(ctx context.Context, name string) ([]byte, error) {
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		data, err := readEnvFile(name)
		done <- result{data, err}
	}()
	select {
	case r := <-done:
		return r.data, r.err
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

func readEnvFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxEnvFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxEnvFile {
		return nil, fmt.Errorf("more than %d MiB: not an env file", MaxEnvFile>>20)
	}
	return data, nil
}

// memorySize is -m/--memory's grammar, as docker run's (go-units
// RAMInBytes) for whole numbers: a number, then a unit k, m, g or t
// (powers of 1024), which b or ib may follow (512mb, 1GiB), or b alone.
var memorySize = regexp.MustCompile(`^([0-9]+) ?(?:([kmgt])(?:i?b)?|b)?$`)

// maxMemoryMiB is the most --memory asks a monitor for: 1 TiB.
const maxMemoryMiB = 1 << 20

// ParseMemory reads -m/--memory as docker run takes it (memorySize), e.g.
// 512m, 512mb or 1g, in MiB; at least 16 MiB, at most 1 TiB.
func ParseMemory(s string) (uint64, error) {
	m := memorySize.FindStringSubmatch(strings.ToLower(strings.TrimSpace(s)))
	if m == nil {
		return 0, &UsageError{fmt.Errorf("--memory %q: want a size such as 512m or 1g", s)}
	}
	shift := map[string]uint{"": 0, "k": 10, "m": 20, "g": 30, "t": 40}[m[2]]
	n, err := strconv.ParseUint(m[1], 10, 64)
	if err != nil || n > maxMemoryMiB<<20>>shift {
		return 0, &UsageError{fmt.Errorf("--memory %q: more than 1t, the most bunix asks a monitor for", s)}
	}
	mib := n << shift >> 20
	if mib < 16 {
		return 0, &UsageError{fmt.Errorf("--memory %q: at least 16m, a guest needs that much", s)}
	}
	return mib, nil
}
