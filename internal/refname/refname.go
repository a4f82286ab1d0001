// Package refname holds the checks of an image repository name that
// go-containerregistry's name package leaves out, shared by the build's
// name check (pkg/args) and the registry client (pkg/registry): ggcr
// checks only the characters, so it takes "x/../y" (which an HTTP client
// sends as /v2/y/), "a//b", "/nix/store/...-kernel" (a path written as a
// name) and a port of 99999, which docker load, podman, containerd, a
// registry or the network refuse later.
package refname

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// The Docker reference grammar (distribution/reference): a path component
// is lower-case letters and digits joined by separators; a registry is a
// host name or a bracketed IPv6 address, and a port.
var (
	pathComponent = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$`)
	domainName    = regexp.MustCompile(`^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$`)
)

// Problem says what is wrong with r, a reference bunix pulls or pushes,
// that ggcr accepted: PortProblem's answer, else PathProblem's; "" when
// nothing is. The host is left to the network: ggcr, registries and
// dialing take hosts the grammar has no room for ("[::ffff:127.0.0.1]").
func Problem(r name.Repository) string {
	if p := PortProblem(r.RegistryStr()); p != "" {
		return p
	}
	return PathProblem(r)
}

// PortProblem says what is wrong with the port of a registry host
// ("host:5000", "[::1]:5000"), or "" when it has none or a good one.
func PortProblem(host string) string {
	i := strings.LastIndexByte(host, ':')
	if i < 0 || strings.HasSuffix(host, "]") {
		return ""
	}
	p, err := strconv.Atoi(host[i+1:])
	if err != nil || p < 1 || p > 65535 {
		return fmt.Sprintf("registry port %q must be a number from 1 to 65535", host[i+1:])
	}
	return ""
}

// Grammar returns what is wrong with repo, an image's name, by the Docker
// reference grammar, which docker load enforces on the names an archive
// carries: its host, then its path (PathProblem); "" when nothing is.
func Grammar(repo name.Repository) string {
	if reg := repo.RegistryStr(); !domainName.MatchString(reg) {
		return fmt.Sprintf("registry %q is not a host name (letters, digits and \"-\", in parts separated by dots, and a port)", reg)
	}
	return PathProblem(repo)
}

// PathProblem returns what is wrong with repo's path by the Docker
// reference grammar: an empty, "." or ".." component, or one with
// characters or separators the grammar has no room for; "" when nothing is.
func PathProblem(repo name.Repository) string {
	for _, part := range strings.Split(repo.RepositoryStr(), "/") {
		if !pathComponent.MatchString(part) {
			return fmt.Sprintf("path component %q must be lower-case letters and digits, separated by \".\", \"_\", \"__\" or dashes, e.g. \"urunc/hello\"", part)
		}
	}
	return ""
}

// Digest reports whether d is a digest as bunix pins an image by one:
// "sha256:" and 64 lower-case hex digits.
func Digest(d string) bool {
	hex, ok := strings.CutPrefix(d, "sha256:")
	return ok && len(hex) == 64 && strings.Trim(hex, "0123456789abcdef") == ""
}
