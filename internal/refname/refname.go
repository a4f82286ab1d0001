// Package refname holds the checks of an image repository name that
// go-containerregistry's name package leaves out, shared by the build's
// name check (pkg/args) and the registry client (pkg/registry).
package refname

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/nubificus/bunix/internal/msg"
)

// pathComponent is one component of a repository name in the Docker
// reference grammar (distribution/reference): lowercase letters and
// digits, joined by single separators. ggcr checks only the characters,
// so it takes "x/../y" (which an HTTP client sends as /v2/y/) and "a//b",
// which docker load refuses.
var pathComponent = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)

// Problem says what is wrong with r that ggcr accepted: a registry port
// out of 1..65535, or a repository path component the reference grammar
// has no room for (empty, ".", "..", "a.-b"). "" when nothing is.
func Problem(r name.Repository) string {
	if p := portProblem(r.RegistryStr()); p != "" {
		return p
	}
	for _, c := range strings.Split(r.RepositoryStr(), "/") {
		if !pathComponent.MatchString(c) {
			return fmt.Sprintf("repository %s has the component %s: each is lowercase letters and digits, joined by one of . _ __ or dashes", msg.Quote(r.RepositoryStr(), 120), msg.Quote(c, 40))
		}
	}
	return ""
}

// portProblem says what is wrong with the port of a registry host
// ("host:5000", "[::1]:5000"), or "" when it has none or a good one.
func portProblem(host string) string {
	i := strings.LastIndexByte(host, ':')
	if i < 0 || strings.HasSuffix(host, "]") {
		return ""
	}
	p, err := strconv.Atoi(host[i+1:])
	if err != nil || p < 1 || p > 65535 {
		return fmt.Sprintf("registry port %s must be a number from 1 to 65535", msg.Quote(host[i+1:], 20))
	}
	return ""
}
