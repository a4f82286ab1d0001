package urunc

import (
	"fmt"
	"slices"
	"strings"
)

// Release is a urunc release an image is built for: the oldest one it must
// run on. Its methods say what that release does with an image. The zero
// Release is not valid; use ParseRelease or DefaultRelease.
type Release struct{ row *releaseRow }

// releaseRow is one row of the release table.
type releaseRow struct {
	name string
	// guests and monitors are those the release runs (pairs still need
	// Monitors to agree).
	guests, monitors []string
	// readsLabels: the shim injects the image's config Labels and manifest
	// annotations into the spec (PR #565); before, only spec annotations
	// and /urunc.json count.
	readsLabels bool
	// cmdlineFallback: with empty process args, the guest's command line is
	// strings.Fields of the cmdline setting (removed by PR #1017).
	cmdlineFallback bool
	// readsUseDMBlock: useDMBlock is read (0.5); later only mountRootfs.
	readsUseDMBlock bool
	// appendsLinuxInitrd: urunc appends newc segments (/urunit.conf, the
	// container's file bind mounts) to a Linux guest's initrd in place.
	appendsLinuxInitrd bool
	// mergesUnikraftInitrd: urunc merges the file bind mounts into a
	// Unikraft guest's initrd, which must be an uncompressed newc archive
	// (PR #991).
	mergesUnikraftInitrd bool
	// unikraftArgv0: a Unikraft guest's argv[0] is the word "Unikraft" and
	// every process arg follows "--" (commit f412631); before, the first
	// word was argv[0].
	unikraftArgv0 bool
	// released is false for "main", urunc's unreleased main branch.
	released bool
}

// The release table. Sources, per row:
//   - 0.7: urunc v0.7.0 built from its source and run under containerd and
//     Docker (../shared/urunc.md, "urunc 0.7 and 0.8, measured"): guests
//     rumprun, unikraft, mirage, mewz, linux; monitors qemu, firecracker,
//     hvt, spt; hermit is not in its table; /urunc.json or spec
//     annotations only; the cmdline fallback; appends to a Linux initrd;
//     Unikraft argv[0] "Unikraft".
//   - 0.8 (2026-09-07): 0.7 plus the pull requests merged before it:
//     cloud-hypervisor (#393), hyperlight-unikraft (#632), labels and
//     manifest annotations through the shim (#565), the Unikraft initrd
//     merge (#991). hermit is taken to come in 0.8; that row was not
//     checked against the v0.8.0 tag.
//   - main: 0.8 plus freebsd (#538, merged after 0.8.0) and the end of the
//     cmdline fallback (#1017).
//   - 0.5 and 0.6: urunc 0.5 was measured reading useDMBlock, base64 spec
//     annotations and /urunc.json, and the cmdline; 0.6 reads mountRootfs
//     only. Their guest and monitor rows are 0.7's and were NOT checked
//     against the v0.5.0 and v0.6.0 tags.
var releaseTable = []releaseRow{
	{name: "0.5", guests: guests05, monitors: monitors05, cmdlineFallback: true, readsUseDMBlock: true, released: true},
	{name: "0.6", guests: guests05, monitors: monitors05, cmdlineFallback: true, released: true},
	{name: "0.7", guests: guests05, monitors: monitors05, cmdlineFallback: true, appendsLinuxInitrd: true, unikraftArgv0: true, released: true},
	{name: "0.8", guests: guests08, monitors: monitors08, readsLabels: true, cmdlineFallback: true, appendsLinuxInitrd: true, mergesUnikraftInitrd: true, unikraftArgv0: true, released: true},
	{name: "main", guests: append(slices.Clone(guests08), "freebsd"), monitors: monitors08, readsLabels: true, appendsLinuxInitrd: true, mergesUnikraftInitrd: true, unikraftArgv0: true},
}

var (
	guests05   = []string{"rumprun", "mirage", "mewz", "unikraft", "linux"}
	monitors05 = []string{"qemu", "firecracker", "hvt", "spt"}
	guests08   = append(slices.Clone(guests05), "hermit")
	monitors08 = append(slices.Clone(monitors05), "cloud-hypervisor", "hyperlight-unikraft")
)

// cameIn says which pull request brought a guest or monitor, for messages.
var cameIn = map[string]string{
	"cloud-hypervisor":    "PR #393",
	"hyperlight-unikraft": "PR #632",
	"freebsd":             "PR #538",
}

// DefaultReleaseName is the release an image is built for when it names
// none: the newest release.
const DefaultReleaseName = "0.8"

// ReleaseNames lists the releases ParseRelease takes, oldest first; the
// last, "main", is urunc's unreleased main branch.
func ReleaseNames() []string {
	out := make([]string, len(releaseTable))
	for i, r := range releaseTable {
		out[i] = r.name
	}
	return out
}

// ReleasedNames lists the released releases, oldest first.
func ReleasedNames() []string {
	var out []string
	for _, r := range releaseTable {
		if r.released {
			out = append(out, r.name)
		}
	}
	return out
}

// ParseRelease returns the release named s: "0.5", "0.6", "0.7", "0.8" or
// "main". A leading "v" and a patch number ("v0.7.0") are accepted.
func ParseRelease(s string) (Release, error) {
	n := strings.TrimPrefix(s, "v")
	if parts := strings.Split(n, "."); len(parts) == 3 && parts[2] != "" && strings.Trim(parts[2], "0123456789") == "" {
		n = parts[0] + "." + parts[1]
	}
	for i := range releaseTable {
		if releaseTable[i].name == n {
			return Release{&releaseTable[i]}, nil
		}
	}
	return Release{}, fmt.Errorf("unknown urunc release %q (known: %s, or \"main\" for urunc's unreleased main branch)", s, strings.Join(quoted(ReleasedNames()), ", "))
}

// DefaultRelease returns the release named DefaultReleaseName.
func DefaultRelease() Release {
	r, _ := ParseRelease(DefaultReleaseName)
	return r
}

func quoted(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = `"` + s + `"`
	}
	return out
}

// String returns the release's name, e.g. "0.7"; "" for the zero Release.
func (r Release) String() string {
	if r.row == nil {
		return ""
	}
	return r.row.name
}

// IsZero reports whether r is the zero Release, which names none.
func (r Release) IsZero() bool { return r.row == nil }

func (r Release) get() *releaseRow {
	if r.row == nil {
		return &releaseTable[slices.IndexFunc(releaseTable, func(x releaseRow) bool { return x.name == DefaultReleaseName })]
	}
	return r.row
}

func (r Release) index() int {
	row := r.get()
	return slices.IndexFunc(releaseTable, func(x releaseRow) bool { return x.name == row.name })
}

// AtLeast reports whether r is other or newer.
func (r Release) AtLeast(other Release) bool { return r.index() >= other.index() }

// Released reports whether r is a release, not urunc's main branch.
func (r Release) Released() bool { return r.get().released }

// Guests returns the guests r runs, in Guests order.
func (r Release) Guests() []string {
	var out []string
	for _, g := range Guests {
		if slices.Contains(r.get().guests, g) {
			out = append(out, g)
		}
	}
	return out
}

// Monitors returns the monitors r runs, in MonitorNames order.
func (r Release) Monitors() []string {
	var out []string
	for _, m := range MonitorNames() {
		if slices.Contains(r.get().monitors, m) {
			out = append(out, m)
		}
	}
	return out
}

// Runs reports whether r runs guest on monitor.
func (r Release) Runs(guest, monitor string) bool {
	row := r.get()
	return slices.Contains(row.guests, guest) && slices.Contains(row.monitors, monitor) && Runs(guest, monitor)
}

// MonitorsFor returns the monitors r runs guest on, in MonitorNames order.
func (r Release) MonitorsFor(guest string) []string {
	var out []string
	for _, m := range MonitorNames() {
		if r.Runs(guest, m) {
			out = append(out, m)
		}
	}
	return out
}

// Since returns the oldest release that runs name, a guest or a monitor,
// and the zero Release when none does.
func Since(name string) Release {
	for i := range releaseTable {
		row := &releaseTable[i]
		if slices.Contains(row.guests, name) || slices.Contains(row.monitors, name) {
			return Release{row}
		}
	}
	return Release{}
}

// Problem says why r cannot run guest on monitor, naming the release that
// brought what r lacks and what to do, or "" when it can (or when guest or
// monitor is one urunc does not know, which other checks report). A guest
// only urunc's main branch runs is a problem for every release but main.
func (r Release) Problem(guest, monitor string) string {
	row := r.get()
	if slices.Contains(Guests, guest) && !slices.Contains(row.guests, guest) {
		return fmt.Sprintf("urunc %s cannot run a %s guest (%s); %s", row.name, guest, since(guest), setOr(guest, ""))
	}
	if _, known := Monitors[monitor]; known && !slices.Contains(row.monitors, monitor) {
		alts := r.MonitorsFor(guest)
		or := ""
		if len(alts) > 0 {
			or = "choose " + orList(alts)
		}
		return fmt.Sprintf("urunc %s cannot run %s (%s); %s", row.name, monitor, since(monitor), setOr(monitor, or))
	}
	return ""
}

// since says when name came, for Problem: "it came in 0.8 with PR #393".
func since(name string) string {
	s := Since(name)
	pr := ""
	if p, ok := cameIn[name]; ok {
		pr = " with " + p
	}
	switch {
	case s.IsZero():
		return "no urunc runs it"
	case !s.Released():
		return "it is only in urunc's unreleased main branch" + pr
	}
	return "it came in " + s.String() + pr
}

// setOr says how to fix a Problem: raise the release, or do or.
func setOr(name, or string) string {
	s := Since(name)
	fix := fmt.Sprintf("set urunc = %q", s.String())
	if !s.Released() {
		fix += " to build for an unreleased urunc"
	}
	if or != "" {
		return fix + ", or " + or
	}
	return fix
}

// orList joins list as "a, b or c".
func orList(list []string) string {
	if len(list) < 2 {
		return strings.Join(list, "")
	}
	return strings.Join(list[:len(list)-1], ", ") + " or " + list[len(list)-1]
}

// Unreleased returns, for a guest or monitor that no release runs but
// main does, a warning naming the pull request it came with; "" otherwise.
func Unreleased(name string) string {
	s := Since(name)
	if s.IsZero() || s.Released() {
		return ""
	}
	pr := cameIn[name]
	if pr == "" {
		pr = "an unreleased change"
	}
	return fmt.Sprintf("%s is only in urunc's main branch (%s), in no release yet: the image runs on a urunc built from main after it", name, pr)
}

// ReadsLabels reports whether r reads the image's config Labels and
// manifest annotations (through its shim, under containerd); releases
// before 0.8 read only spec annotations and /urunc.json.
func (r Release) ReadsLabels() bool { return r.get().readsLabels }

// CmdlineFallback reports whether r takes the guest's command line from
// the cmdline setting when the process args are empty.
func (r Release) CmdlineFallback() bool { return r.get().cmdlineFallback }

// ReadsUseDMBlock reports whether r reads useDMBlock (0.5); later releases
// read mountRootfs only.
func (r Release) ReadsUseDMBlock() bool { return r.get().readsUseDMBlock }

// AppendsToInitrd reports whether r appends newc segments (the container's
// file bind mounts, /urunit.conf) to the image's initrd of a guest, in
// place: a Linux guest's from 0.7, a Unikraft guest's from 0.8.
func (r Release) AppendsToInitrd(guest string) bool {
	switch guest {
	case "linux":
		return r.get().appendsLinuxInitrd
	case "unikraft":
		return r.get().mergesUnikraftInitrd
	}
	return false
}

// UnikraftArgv0 reports whether r gives a Unikraft guest the word
// "Unikraft" as argv[0] and every process arg after "--" (from 0.7);
// before, the first process arg was argv[0].
func (r Release) UnikraftArgv0() bool { return r.get().unikraftArgv0 }
