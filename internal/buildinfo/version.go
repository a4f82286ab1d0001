// Package buildinfo says which bunix this is.
package buildinfo

import "runtime/debug"

// Version returns the version of this binary: stamped, the value -ldflags
// "-X main.version=..." sets (make bunix stamps git describe), or, when it
// is "dev", what the module's build info records (see VersionOf).
func Version(stamped string) string {
	info, ok := debug.ReadBuildInfo()
	return VersionOf(stamped, info, ok)
}

// VersionOf returns stamped when it is set (not "dev"), else the version
// of the main module in info (v1.2.3 from go install), else its VCS
// revision (a build in a checkout), else "dev".
func VersionOf(stamped string, info *debug.BuildInfo, ok bool) string {
	if stamped != "dev" || !ok {
		return stamped
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev == "" {
		return stamped
	}
	return "dev-" + rev + dirty
}
