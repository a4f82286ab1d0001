// Package testenv gives integration tests the real tools bunix works with: a
// static bunix built from this module (Bunix), nix-build with substituters off
// and the sandbox on (NixBuild, NixInstantiate), a private Docker daemon
// (Dockerd, SharedDockerd, StartDockerd), a private registry on a loopback
// port (Registry), and a private containerd (Containerd).
//
// A test that needs a missing tool calls Require, which skips it with a hint
// on a developer's machine and fails it when CI=true, where scripts/deps.sh
// has installed everything. `make test` runs scripts/deps.sh first.
package testenv
