package run

import "github.com/nubificus/bunix/pkg/urunc"

// Behaviour is what a urunc release does with an image that a run must
// do the same way: BehaviourOf a release of pkg/urunc's table (--urunc);
// Newest, the newest release's.
type Behaviour struct {
	// Name names the release in messages.
	Name string
	// ReadsLabels: the shim hands urunc the image's config Labels and
	// manifest annotations (0.8, PR #565); before, /urunc.json alone.
	ReadsLabels bool
	// CmdlineFallback: with no process args, the guest's command line is
	// the cmdline setting's words (until PR #1017, after 0.8).
	CmdlineFallback bool
	// ReadsUseDMBlock: useDMBlock, not mountRootfs, says whether to hand
	// the container rootfs to the guest (0.5).
	ReadsUseDMBlock bool
	// UnikraftArgv0: a Unikraft guest's argv[0] is the word "Unikraft"
	// and every process arg follows "--" (from 0.7); before, the first
	// process arg was argv[0].
	UnikraftArgv0 bool
	// Runs reports whether the release runs guest on monitor.
	Runs func(guest, monitor string) bool
}

// BehaviourOf is the Behaviour of urunc release r (pkg/urunc's release
// table).
func BehaviourOf(r urunc.Release) Behaviour {
	return Behaviour{Name: r.String(), ReadsLabels: r.ReadsLabels(), CmdlineFallback: r.CmdlineFallback(),
		ReadsUseDMBlock: r.ReadsUseDMBlock(), UnikraftArgv0: r.UnikraftArgv0(), Runs: r.Runs}
}

// Newest is the newest urunc release's Behaviour (urunc.DefaultRelease,
// 0.8): labels and manifest annotations read through the shim, the
// cmdline fallback still there, Unikraft's argv[0] "Unikraft".
var Newest = BehaviourOf(urunc.DefaultRelease())
