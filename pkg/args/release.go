package args

import (
	"path"
	"slices"
	"strings"

	"github.com/nubificus/bunix/pkg/urunc"
)

// release returns the urunc release the description is for: its urunc
// field (or the --urunc flag, SetUrunc), else urunc.DefaultRelease.
func (a *Args) release(c *collector) urunc.Release {
	if a.Urunc == "" && !a.present["urunc"] {
		return urunc.DefaultRelease()
	}
	r, err := urunc.ParseRelease(a.Urunc)
	if err != nil {
		c.add("urunc", a.Urunc, "unknown urunc release: give the oldest urunc the image must run on, one of %s, or \"main\" for urunc's unreleased main branch", strings.Join(urunc.ReleasedNames(), ", "))
		return urunc.DefaultRelease()
	}
	return r
}

// releaseRules checks the guest and monitor against the release the
// description is for: a release that does not run them refuses the image.
func (a *Args) releaseRules(c *collector, r *Resolved) {
	g, m := r.Settings[urunc.UnikernelType], r.Settings[urunc.Hypervisor]
	p := r.Urunc.Problem(g, m)
	if p == "" {
		return
	}
	key, value := urunc.Hypervisor, m
	if slices.Contains(urunc.Guests, g) && !slices.Contains(r.Urunc.Guests(), g) {
		key, value = urunc.UnikernelType, g
	}
	field, _, ok := a.annotation(key)
	if !ok {
		field = "annotations." + key
	}
	c.add(field, value, "%s", p)
}

// workdirUser checks workingDir and user, which go into the image config.
func (a *Args) workdirUser(c *collector, r *Resolved) {
	if wd := a.WorkingDir; wd != "" {
		switch {
		case strings.ContainsAny(wd, "\x00\r\n"):
			c.add("workingDir", wd, "must be one line with no NUL byte")
		case !path.IsAbs(wd):
			c.add("workingDir", wd, "must be an absolute path in the guest (did you mean %q?)", "/"+wd)
		case path.Clean(wd) != wd:
			c.add("workingDir", wd, "must be a clean path (did you mean %q?)", path.Clean(wd))
		default:
			r.WorkingDir = wd
		}
	} else if a.present["workingDir"] && a.WorkingDir == "" {
		c.add("workingDir", "", "must not be empty: leave it out, or give an absolute path such as \"/srv\"")
	}
	if u := a.User; u != "" || a.present["user"] && u == "" {
		if p := UserProblem(u); p != "" {
			c.add("user", u, "%s", p)
		} else {
			r.User = u
		}
	}
}

// UserProblem says what is wrong with user, the image's User, or "": urunc
// hands a Linux guest's urunit the numbers UID and GID, so bunix takes
// "UID" or "UID:GID", in decimal.
func UserProblem(user string) string {
	uid, gid, hasGID := strings.Cut(user, ":")
	if !isUint32(uid) || hasGID && !isUint32(gid) {
		return "want \"UID\" or \"UID:GID\", decimal numbers (e.g. \"1000:1000\"): urunc hands the guest's init numbers, and an image has no /etc/passwd it reads names from"
	}
	return ""
}

func isUint32(s string) bool {
	if s == "" || len(s) > 10 {
		return false
	}
	var n uint64
	for _, ch := range s {
		if ch < '0' || ch > '9' {
			return false
		}
		n = n*10 + uint64(ch-'0')
	}
	return n <= 1<<32-1
}

// blockRules checks what urunc does with a block next to the rest: a
// block with no mount point is refused at start ("annotation for block
// device was set without a mountpoint"), and one mounted at "/" next to an
// initrd is never attached (urunc takes the initrd as the rootfs).
func (a *Args) blockRules(c *collector, r *Resolved) {
	block, mnt, initrd := r.Settings[urunc.Block], r.Settings[urunc.BlkMntPoint], r.Settings[urunc.Initrd]
	if block == "" {
		return
	}
	field := "annotations." + urunc.Block
	if f, _, ok := a.annotation(urunc.Block); ok {
		field = f
	} else if a.Rootfs != nil {
		field = "rootfs.type"
	}
	if mnt == "" {
		c.add(field, block, "a block needs a mount point: urunc refuses the container at start (\"annotation for block device was set without a mountpoint\"); set annotations.blkMntPoint, e.g. \"/data\"")
		return
	}
	if mnt == "/" && initrd != "" {
		mfield := "annotations." + urunc.BlkMntPoint
		if f, _, ok := a.annotation(urunc.BlkMntPoint); ok {
			mfield = f
		} else if a.Rootfs != nil && a.Rootfs.Type == urunc.RootfsBlock {
			mfield = "rootfs.mountPoint"
		}
		c.add(mfield, mnt, "the block %s is mounted at / next to the initrd %s: urunc takes the initrd as the guest's rootfs and never attaches the block; mount it elsewhere, e.g. \"/data\", or drop the initrd", block, initrd)
	}
}

// UrunitPath is where bunix puts urunit in a Linux guest's rootfs, and the
// first process arg it adds.
const UrunitPath = "/urunit"

// urunit puts a.Urunit at /urunit in the guest's rootfs: an include of the
// initrd or block image bunix builds, or a copy into the image for a raw
// rootfs. It must come after resolveRootfs; process prepends /urunit to
// the process args.
func (a *Args) urunit(c *collector, r *Resolved) {
	if a.UrunitImage != nil && a.Urunit == "" {
		if !slices.Contains(a.badFields, "urunit") && !isReported(c, "urunit.ref") && !isReported(c, "urunit.digest") {
			c.add("urunit", nil, "the image holding /urunit was not fetched: build or validate the description with bunix, which fetches it")
		}
		return
	}
	if a.Urunit == "" {
		return
	}
	if g := r.Settings[urunc.UnikernelType]; g != "" && g != "linux" {
		c.add("urunit", a.Urunit, "urunit is the init of a linux guest; a %s guest gets its environment from urunc directly: leave urunit out", g)
		return
	}
	rf := a.Rootfs
	switch {
	case rf == nil:
		c.add("urunit", a.Urunit, "urunit goes in the guest's rootfs, and there is none: give rootfs (an initrd, a block image at \"/\", or raw)")
		return
	case rf.From != "":
		c.add("urunit", a.Urunit, "urunit cannot be added to a prebuilt rootfs (rootfs.from), which is packaged as it is: put it at %s in that rootfs yourself and %s in entrypoint", UrunitPath, UrunitPath)
		return
	case rf.Type == urunc.RootfsBlock && r.Settings[urunc.BlkMntPoint] != "/":
		c.add("urunit", a.Urunit, "urunit goes in the guest's rootfs, and the block image is mounted at %s, not /", r.Settings[urunc.BlkMntPoint])
		return
	}
	for _, ct := range rf.Include {
		if ct.Target == UrunitPath {
			c.add("urunit", a.Urunit, "%s already puts a file at %s: give urunit once", ct.Field, UrunitPath)
			return
		}
	}
	cp := a.copyInto(c, "urunit", a.Urunit, UrunitPath, rf.Type == urunc.RootfsRaw)
	if a.urunitFrom != "" {
		cp.Written, cp.Key = a.urunitFrom, a.urunitFrom
	}
	if rf.Type == urunc.RootfsRaw {
		r.Copies = append(r.Copies, cp)
	} else if r.Rootfs != nil {
		r.Rootfs.Include = append(r.Rootfs.Include, cp)
	}
}
