package sbom

import (
	"strings"
)

// nixStore is where Nix keeps its store paths.
const nixStore = "/nix/store/"

// storeHashLen is the length of a store path's hash part.
const storeHashLen = 32

// storePath returns the store path p is or lies inside
// ("/nix/store/<hash>-<name>"), and whether it is one.
func storePath(p string) (string, bool) {
	rest, ok := strings.CutPrefix(p, nixStore)
	if !ok {
		return "", false
	}
	base, _, _ := strings.Cut(rest, "/")
	if len(base) < storeHashLen+2 || base[storeHashLen] != '-' {
		return "", false
	}
	for _, c := range base[:storeHashLen] {
		// Nix's base32 alphabet: digits and letters but e, o, u, t.
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z') || strings.ContainsRune("eout", c) {
			return "", false
		}
	}
	return nixStore + base, true
}

// parseName splits a store path's name as builtins.parseDrvName does: the
// version starts at the first "-" followed by something other than a
// letter ("hello-2.12.1" is hello and 2.12.1; "redis.hvt" has no version).
func parseName(s string) (name, version string) {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '-' {
			c := s[i+1]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				return s[:i], s[i+1:]
			}
		}
	}
	return s, ""
}
