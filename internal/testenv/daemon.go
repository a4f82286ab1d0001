package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// readyPollInterval is how often a starting daemon is asked whether it is
// ready.
const readyPollInterval = 50 * time.Millisecond

// portAttempts is how many free ports a daemon on a TCP port (a registry,
// sshd) is started on before giving up, should another process take each
// between the moment it is picked and the moment the daemon listens.
const portAttempts = 5

// daemon is a server process started for tests: its command, and the
// temporary directory that holds its log and everything else it writes.
// Docker, RegistryServer and ContainerdServer embed one.
type daemon struct {
	name   string // the command's name, for messages
	dir    string // holds the log and all the daemon writes; removed on shutdown
	cmd    *exec.Cmd
	exited chan struct{} // closed when the daemon has exited and been reaped
}

// prepareDaemon looks up commands in PATH and makes a new directory for a
// private daemon called name, from pattern as os.MkdirTemp takes it. It
// returns the directory, by its real path (as /proc/self/mountinfo has it,
// for unmountUnder), and the commands' paths, in order.
func prepareDaemon(name, pattern string, commands ...string) (string, []string, error) {
	var paths []string
	for _, c := range commands {
		p, err := exec.LookPath(c)
		if err != nil {
			return "", nil, fmt.Errorf("starting a private %s: %w", name, err)
		}
		paths = append(paths, p)
	}
	dir, err := os.MkdirTemp("", pattern)
	if err != nil {
		return "", nil, fmt.Errorf("starting a private %s: %w", name, err)
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("starting a private %s: %w", name, err)
	}
	return real, paths, nil
}

// start starts cmd as the daemon, with its stdout and stderr going to the
// log in d.dir, which it truncates, and reaps it when it exits.
func (d *daemon) start(cmd *exec.Cmd) error {
	log, err := os.Create(d.logFile())
	if err != nil {
		return fmt.Errorf("starting a private %s: %w", d.name, err)
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	// A test binary killed by its -timeout runs no cleanup: the daemon goes
	// with it rather than running on. (The kernel sends the signal when the
	// OS thread that started the daemon exits; a Go thread exits only when a
	// goroutine locked to it does.)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting a private %s: %w", d.name, err)
	}
	d.cmd = cmd
	d.exited = make(chan struct{})
	go func() {
		cmd.Wait()
		close(d.exited)
	}()
	return nil
}

// launch starts cmd as the daemon, cmd and err being what the daemon's
// command method returned. When either fails it removes d.dir, which holds
// nothing the caller needs yet, and returns the error.
func (d *daemon) launch(cmd *exec.Cmd, err error) error {
	if err == nil {
		err = d.start(cmd)
	}
	if err != nil {
		os.RemoveAll(d.dir)
	}
	return err
}

// waitReady asks ready, every readyPollInterval, whether the daemon answers
// on addr, until it does, the daemon exits, or timeout passes.
func (d *daemon) waitReady(addr string, timeout time.Duration, ready func() bool) error {
	deadline := time.Now().Add(timeout)
	for {
		if ready() {
			return nil
		}
		select {
		case <-d.exited:
			return fmt.Errorf("starting a private %s in %s: it exited: %v\n%s", d.name, d.dir, d.cmd.ProcessState, d.logTail())
		case <-time.After(readyPollInterval):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("starting a private %s in %s: no answer on %s after %s\n%s", d.name, d.dir, addr, timeout, d.logTail())
		}
	}
}

// shutdown stops the daemon with SIGTERM, SIGKILL if it outlives timeout,
// detaches the mounts left in d.dir and removes d.dir. The daemon is this
// process's child, so it is signalled and reaped through d.cmd.
func (d *daemon) shutdown(timeout time.Duration) error {
	var errs []error
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(timeout):
		d.cmd.Process.Kill()
		<-d.exited
		errs = append(errs, fmt.Errorf("stopping the private %s in %s: still running %s after SIGTERM, killed it\n%s", d.name, d.dir, timeout, d.logTail()))
	}
	if err := unmountUnder(d.dir, d.name); err != nil {
		errs = append(errs, err)
	}
	if err := os.RemoveAll(d.dir); err != nil {
		errs = append(errs, fmt.Errorf("removing the private %s's files: %w", d.name, err))
	}
	return errors.Join(errs...)
}

// unmountUnder detaches the mounts left in dir by the daemon name, deepest
// first, so that removing dir neither fails on them nor reaches through
// them. A daemon that is killed leaves its containers' mounts, or those it
// unpacks images through; a dockerd whose data root is on a private mount
// (the host's, in a chroot) may leave the bind mount of its data root onto
// itself, which it makes so as to share mounts with containers.
func unmountUnder(dir, name string) error {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return fmt.Errorf("listing the mounts left in %s: %w", dir, err)
	}
	var points []string
	for _, line := range strings.Split(string(data), "\n") {
		// The fifth field is the mount point, with octal escapes.
		fields := strings.Fields(line)
		if len(fields) < 5 {
			continue
		}
		point := mountPathUnescaper.Replace(fields[4])
		if point == dir || strings.HasPrefix(point, dir+"/") {
			points = append(points, point)
		}
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	var errs []error
	for _, point := range points {
		if err := syscall.Unmount(point, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) {
			errs = append(errs, fmt.Errorf("unmounting %s, left by the private %s: %w", point, name, err))
		}
	}
	return errors.Join(errs...)
}

var mountPathUnescaper = strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)

// exitedSaying reports whether the daemon has exited with text in its
// log: "address already in use" says another process took its port.
func (d *daemon) exitedSaying(text string) bool {
	select {
	case <-d.exited:
	default:
		return false
	}
	log, err := os.ReadFile(d.logFile())
	return err == nil && strings.Contains(string(log), text)
}

// logFile returns the name of the daemon's log.
func (d *daemon) logFile() string {
	return filepath.Join(d.dir, "log")
}

// logTail returns the end of the daemon's log, for an error message.
func (d *daemon) logTail() string {
	const lines = 30
	name := d.logFile()
	data, err := os.ReadFile(name)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	all := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return fmt.Sprintf("--- last %d lines of %s ---\n%s", len(all), name, strings.Join(all, "\n"))
}
