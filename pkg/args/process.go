package args

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/nubificus/bunix/internal/msg"
	"github.com/nubificus/bunix/pkg/urunc"
)

// envName is what a variable name in env may be: what a POSIX shell takes
// for a name, so that the guest's init and libc read it back.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// EnvProblem says what is wrong with the variable name = value of a
// guest's environment, or "": the rule env is checked by, for the front
// ends (init, convert) that take variables before a description exists.
func EnvProblem(name, value string) string {
	switch {
	case !envName.MatchString(name):
		return msg.Quote(name, maxShown) + " is not a variable name: letters, digits and _, not starting with a digit"
	case strings.IndexByte(value, 0) >= 0:
		return "must not contain a NUL byte"
	case strings.ContainsAny(value, "\r\n"):
		return "must be one line: urunc passes the environment on the guest's command line"
	}
	return ""
}

// CmdlineAgrees reports whether the cmdline annotation cl and the process
// args (entrypoint + cmd) give the guest the same command: cl is args as
// urunc joins them, or its words are args.
func CmdlineAgrees(cl string, args []string) bool {
	if cl == JoinArgs(args) {
		return true
	}
	words, err := SplitCmdline(cl)
	return err == nil && slices.Equal(words, args)
}

// JoinArgs joins process args into one command line the way urunc does for
// a guest: with single spaces, an argument holding a space wrapped in single
// quotes (urunc's convention, which urunit on a Linux guest undoes). It is
// what older urunc, which reads the cmdline annotation, should pass.
func JoinArgs(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		if strings.Contains(a, " ") {
			a = "'" + a + "'"
		}
		quoted[i] = a
	}
	return strings.Join(quoted, " ")
}

// process resolves env, entrypoint and cmd against annotations.cmdline, of
// which there is one source of truth: a cmdline alone gives Cmd its words;
// entrypoint and cmd alone give the cmdline for older urunc, joined as
// urunc joins them; both must agree. An image with no command at all is
// warned about, never given a placeholder.
func (a *Args) process(c *collector, r *Resolved) {
	for _, name := range sortedKeys(a.Env) {
		field, v := "env."+name, a.Env[name]
		if p := EnvProblem(name, v); p != "" {
			c.add(field, v, "%s", p)
		} else {
			r.Env = append(r.Env, name+"="+v)
		}
	}
	given := a.Entrypoint != nil || a.Cmd != nil
	entrypoint := a.Entrypoint
	if a.Urunit != "" {
		// urunit is the init; it runs the rest.
		entrypoint = append([]string{UrunitPath}, a.Entrypoint...)
		if field, cl, ok := a.annotation(urunc.Cmdline); ok && cl != "" {
			c.add(field, cl, "cannot go with urunit: give the command in entrypoint and cmd, and bunix writes the cmdline (with %s first) for older urunc", UrunitPath)
		} else if len(a.Entrypoint)+len(a.Cmd) == 0 {
			c.add("urunit", a.Urunit, "urunit runs the command in entrypoint and cmd, and there is none: give one, e.g. cmd = [ \"/bin/app\" ] (a base image's command is not taken under urunit)")
		}
	}
	for _, l := range []struct {
		field string
		words []string
	}{{"entrypoint", a.Entrypoint}, {"cmd", a.Cmd}} {
		for i, w := range l.words {
			field := fmt.Sprintf("%s[%d]", l.field, i)
			switch {
			case strings.IndexByte(w, 0) >= 0:
				c.add(field, w, "must not contain a NUL byte")
			case strings.ContainsAny(w, "\r\n"):
				c.add(field, w, "must be one line: urunc joins the process args into the guest's one-line command line")
			}
		}
	}
	// The first word is the program run (argv[0], urunit's too): an empty
	// one names none, and docker refuses to run it.
	if len(a.Entrypoint) > 0 && a.Entrypoint[0] == "" {
		c.add("entrypoint[0]", "", "is the program to run (argv[0]) and is empty: give its path, e.g. \"/bin/app\"")
	} else if len(a.Entrypoint) == 0 && len(a.Cmd) > 0 && a.Cmd[0] == "" {
		c.add("cmd[0]", "", "is the program to run (argv[0]) and is empty: give its path, e.g. \"/bin/app\"")
	}
	args := slices.Concat(entrypoint, a.Cmd)
	cl, hasCmdline := r.Settings[urunc.Cmdline]
	switch {
	case hasCmdline && !given:
		words, err := SplitCmdline(cl)
		if err != nil {
			c.add("annotations.cmdline", cl, "cannot be split into words: %v", err)
		}
		r.Cmd = words
		r.CommandField, _, _ = a.annotation(urunc.Cmdline)
	case hasCmdline:
		if !CmdlineAgrees(cl, args) {
			field, _, _ := a.annotation(urunc.Cmdline)
			c.add(field, cl, "disagrees with entrypoint + cmd = %s (which urunc joins as %s): give the command once, in cmd (and entrypoint) or in annotations.cmdline, or make them agree",
				quote(args), strconv.Quote(JoinArgs(args)))
		}
		r.Entrypoint, r.Cmd = entrypoint, a.Cmd
	case given:
		r.Entrypoint, r.Cmd = entrypoint, a.Cmd
		if len(args) == 0 {
			break
		}
		joined := JoinArgs(args)
		field := "cmd"
		if len(a.Cmd) == 0 {
			field = "entrypoint"
		}
		if n := len(urunc.Prefix) + len(urunc.Cmdline) + len(joined); n > MaxLabel {
			c.add(field, nil, "joined into the cmdline annotation for older urunc, it is %d bytes, and with its label key %d: containerd refuses labels over %d bytes", len(joined), n, MaxLabel)
			break
		}
		r.Settings[urunc.Cmdline] = joined
	}
	if len(r.Entrypoint) == 0 {
		r.Entrypoint = nil
	}
	if len(r.Cmd) == 0 {
		r.Cmd = nil
	}
	if r.CommandField == "" && len(r.Entrypoint) > 0 {
		r.CommandField = "entrypoint"
	} else if r.CommandField == "" && len(r.Cmd) > 0 {
		r.CommandField = "cmd"
	}
	if !given && !hasCmdline {
		// The base's command is the guest's: a hostile or broken one is
		// refused as the description's own would be.
		for i, w := range a.baseCommand {
			field := "from"
			switch {
			case strings.IndexByte(w, 0) >= 0:
				c.add(field, w, "the base %s's command, word %d: must not contain a NUL byte; give cmd (or entrypoint) in the description", a.base, i)
			case strings.ContainsAny(w, "\r\n"):
				c.add(field, w, "the base %s's command, word %d: must be one line: urunc joins the process args into the guest's one-line command line; give cmd (or entrypoint) in the description", a.base, i)
			}
		}
	}
	if r.Entrypoint == nil && r.Cmd == nil && len(a.baseCommand) == 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%s: no command: the image has no Entrypoint or Cmd, so `docker run` and podman refuse to start it (\"No command specified\") unless one is given, e.g. `docker run IMAGE /app`; set cmd (or annotations.cmdline) to give the guest its command line", a.File))
	}
}

// monitorRules checks what urunc refuses at start-up, or runs only on some
// hosts, about the guest, its monitor and mountRootfs: urunc hands the
// container rootfs to the guest (mountRootfs = "true") as a block device
// (rumprun, linux, freebsd: only with a block snapshotter such as
// devmapper) or through a shared file system (unikraft: 9pfs, which only
// qemu provides; hermit: virtiofs, qemu with virtiofsd), and fails the
// container when it cannot. What can never work is an error, what depends
// on the host a warning, each said once.
func (a *Args) monitorRules(c *collector, r *Resolved) {
	guest, monitor := r.Settings[urunc.UnikernelType], r.Settings[urunc.Hypervisor]
	for _, k := range []string{urunc.UnikernelType, urunc.Hypervisor} {
		if w := urunc.Unreleased(r.Settings[k]); w != "" && r.Urunc.String() == "main" {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s: annotations.%s = %q: %s", a.File, k, r.Settings[k], w))
		}
	}
	if r.Settings[urunc.MountRootfs] != "true" || guest == "" {
		return
	}
	field, value := "rootfs.type", urunc.RootfsRaw
	if a.Rootfs != nil && a.Rootfs.Type == urunc.RootfsRaw {
		if !slices.Contains(urunc.GuestRootfs[guest], urunc.RootfsRaw) {
			return // reported with rootfs.type
		}
	} else {
		for _, k := range []string{urunc.MountRootfs, urunc.UseDMBlock} {
			if f, v, ok := a.annotation(k); ok && v != "" {
				field, value = f, v
				break
			}
		}
	}
	const refused = "urunc refuses to start it (\"can not mount container's rootfs as block or through shared-fs\")"
	warn := func(format string, args ...any) {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%s: %s = %q: ", a.File, field, value)+fmt.Sprintf(format, args...))
	}
	switch guest {
	case "unikraft":
		if monitor != "qemu" && monitor != "" {
			c.add(field, value, "urunc shares the container rootfs with a unikraft guest only through 9pfs, which %s does not provide: %s; use qemu, or an initrd", monitor, refused)
			return
		}
		warn("urunc shares the container rootfs with the unikraft guest through 9pfs, which it must be configured for; otherwise %s", refused)
	case "hermit":
		warn("urunc shares the container rootfs with the hermit guest through virtiofs: the host needs virtiofsd, and urunc a release that supports it; otherwise %s", refused)
	case "linux", "freebsd":
		if r07, _ := urunc.ParseRelease("0.7"); monitor == "qemu" && r.Urunc.AtLeast(r07) {
			warn("urunc hands the container snapshot to the %s guest as a block device when containerd uses a block snapshotter such as devmapper; on overlayfs, urunc 0.7 and later share it over virtiofs or 9p instead (root=fs0 rootfstype=9p), which the guest kernel must support (CONFIG_NET_9P_VIRTIO and CONFIG_9P_FS, or CONFIG_VIRTIO_FS)", guest)
			break
		}
		warn("urunc hands the container snapshot to the %s guest as a block device: containerd must use a block snapshotter such as devmapper; on overlayfs %s", guest, refused)
	case "rumprun":
		warn("urunc hands the container snapshot to the %s guest as a block device: containerd must use a block snapshotter such as devmapper; on overlayfs %s", guest, refused)
	default:
		c.add(field, value, "a %s guest takes no file-system rootfs, so %s; leave it out", guest, refused)
	}
}
