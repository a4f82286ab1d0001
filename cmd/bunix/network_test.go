package main

import (
	"bytes"
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/nubificus/bunix/internal/testenv"
)

// resettingRegistry is a registry on loopback holding a base image as
// urunc/reset:1 that resets the connection (RST) of every request whose
// path holds part (LAYER: the first layer's digest), before its answer,
// or when answer is set after the answer's headers. It returns the
// registry and the digest of the image.
func resettingRegistry(t *testing.T, part string, answer bool) (host, digest string) {
	inner := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	var armed atomic.Bool
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !armed.Load() || !strings.Contains(r.URL.Path, part) {
			inner.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		inner.ServeHTTP(rec, r)
		c, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		if answer {
			buf.WriteString("HTTP/1.1 200 OK\r\n")
			for k, v := range rec.Header() {
				buf.WriteString(k + ": " + v[0] + "\r\n")
			}
			buf.WriteString("\r\n")
			buf.Flush()
		}
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	}))
	t.Cleanup(s.Close)
	host = strings.TrimPrefix(s.URL, "http://")
	idx, img := testenv.BaseImage(t, compression.GZip, "")
	m, _ := img.Manifest()
	part = strings.Replace(part, "LAYER", m.Layers[0].Digest.String(), 1)
	tag, _ := name.NewTag(host + "/urunc/reset:1")
	if err := remote.WriteIndex(tag, idx); err != nil {
		t.Fatal(err)
	}
	d, _ := idx.Digest()
	armed.Store(true)
	return host, d.String()
}

// TestNetworkFailuresExit1: a connection reset is a failure (exit 1), as
// every network failure is (registry.IsNetworkFailure), wherever it
// happens: at the manifest, or at a layer's first byte, where inspect's
// reader took it for a corrupt layer (exit 2).
func TestNetworkFailuresExit1(t *testing.T) {
	for _, tc := range []struct {
		part   string
		answer bool
	}{
		{"/manifests/", true},
		{"LAYER", true},
	} {
		host, _ := resettingRegistry(t, tc.part, tc.answer)
		ref := host + "/urunc/reset:1"
		for _, argv := range [][]string{{"inspect", "--insecure", ref}, {"prefetch", ref}} {
			code, stdout, stderr := cli(t, nil, argv...)
			if code != exitFailure || stdout != "" || !strings.Contains(stderr, "connection reset by peer") {
				t.Errorf("reset at %s (after the headers: %v): %v: exit %d, stdout %q, stderr %s", tc.part, tc.answer, argv, code, stdout, stderr)
			}
		}
	}
}

// TestRegistryStallExits1: with BUNIX_REGISTRY_TIMEOUT=2s, inspect,
// prefetch, convert (a FROM image), validate and build (a from image)
// and nix-pull (the pull of nix-build's pullImage) on a registry
// that stops sending mid-layer, and push to one that never answers, fail
// (exit 1) naming the registry and what was being read; a bad value of
// the variable is bad input (exit 2) for each command. Every request but
// the stalled one must be answered within the timeout, by a loopback
// server in this process on a loaded CI machine: 2 s, not 300 ms, so that
// a late answer never shows as a stall of the wrong request.
func TestRegistryStallExits1(t *testing.T) {
	host, digest, _ := testenv.StallingRegistry(t, "urunc/stall", "")
	ref := host + "/urunc/stall:1"
	env := map[string]string{"BUNIX_REGISTRY_TIMEOUT": "2s"}
	out := filepath.Join(t.TempDir(), "out")
	pullEnv := map[string]string{"BUNIX_REGISTRY_TIMEOUT": "2s", "ref": ref, "digest": digest, "architecture": "amd64", "out": out}
	cf := filepath.Join(t.TempDir(), "Containerfile")
	os.WriteFile(cf, []byte("FROM "+ref+"\nLABEL com.urunc.unikernel.hypervisor=qemu\n"), 0o644)
	js := filepath.Join(t.TempDir(), "args.json")
	os.WriteFile(js, []byte(`{"name":"x","from":"`+host+`/urunc/stall@`+digest+`"}`), 0o644)
	for _, tc := range []struct {
		env  map[string]string
		argv []string
	}{
		{env, []string{"inspect", "--insecure", ref}},
		{env, []string{"prefetch", ref}},
		{env, []string{"convert", cf}},
		{env, []string{"validate", "-f", js}},
		{env, []string{"build", "-f", js, "-o", out}},
		{pullEnv, []string{"nix-pull"}},
	} {
		code, stdout, stderr := cli(t, tc.env, tc.argv...)
		if code != exitFailure || stdout != "" || !strings.Contains(stderr, "registry "+host+" sent nothing for 2s while reading GET the blob sha256:") || !strings.Contains(stderr, "BUNIX_REGISTRY_TIMEOUT") {
			t.Errorf("%v: exit %d, stdout %q, stderr %s", tc.argv, code, stdout, stderr)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("nix-pull left %s", out)
	}

	silent := silentRegistry(t)
	dir := project(t)
	image := buildFormat(t, dir, "oci-archive")
	code, _, stderr := cli(t, env, "push", "--insecure", image, silent+"/urunc/x:1")
	if code != exitFailure || !strings.Contains(stderr, "registry "+silent+" sent nothing for 2s while waiting for an answer to") {
		t.Errorf("push to a registry that never answers: exit %d, stderr %s", code, stderr)
	}

	for _, argv := range [][]string{{"inspect", ref}, {"prefetch", ref}, {"push", image, ref}, {"convert", cf}, {"validate", "-f", js}, {"nix-pull"}} {
		bad := map[string]string{"BUNIX_REGISTRY_TIMEOUT": "soon"}
		if argv[0] == "nix-pull" {
			bad = map[string]string{"BUNIX_REGISTRY_TIMEOUT": "soon", "ref": ref, "digest": digest, "architecture": "amd64", "out": out}
		}
		code, _, stderr := cli(t, bad, argv...)
		if code != exitBadInput || !strings.Contains(stderr, `BUNIX_REGISTRY_TIMEOUT = "soon"`) {
			t.Errorf("%v with BUNIX_REGISTRY_TIMEOUT=soon: exit %d, stderr %s", argv, code, stderr)
		}
	}
}

// silentRegistry accepts connections on loopback and never answers.
func silentRegistry(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
			go io.Copy(io.Discard, c)
		}
	}()
	return l.Addr().String()
}

// TestRedirectLoopExits1: the bunix binary on a registry that answers
// every request but the API check with a redirect to itself stops:
// "redirects in a loop", exit 1, its memory small (it grew without bound).
func TestRedirectLoopExits1(t *testing.T) {
	host := testenv.RedirectLoopRegistry(t)
	bin := filepath.Join(testenv.Bunix(t), "bin", "bunix")
	for _, argv := range [][]string{{"inspect", "--insecure", host + "/urunc/loop:1"}, {"prefetch", host + "/urunc/loop:1"}} {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		cmd := exec.CommandContext(ctx, bin, argv...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		cmd.Run()
		cancel()
		if code := cmd.ProcessState.ExitCode(); code != exitFailure || !strings.Contains(stderr.String(), "registry "+host+" redirects in a loop") {
			t.Errorf("%v: exit %d, stderr %s", argv, code, stderr.String())
		}
		rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss // KiB
		t.Logf("%v: max RSS %d KiB", argv, rss)
		if rss > 200<<10 {
			t.Errorf("%v: max RSS %d KiB", argv, rss)
		}
	}
}

// TestPrefetchFileIsNoReference: prefetch or verify of a path, or a push
// to one (one that exists, or one that looks like a path), is bad input (exit 2), as inspect
// has it, and no registry is asked: the bunix binary sends every HTTPS
// request to a proxy that records them.
func TestPrefetchFileIsNoReference(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var asked atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			asked.Add(1)
			c.Close()
		}
	}()
	bin := filepath.Join(testenv.Bunix(t), "bin", "bunix")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "image.tar"), nil, 0o644)
	_, pub := pkcs8Key(t, dir, "key")
	for _, command := range [][]string{{"prefetch"}, {"verify", "--key", pub}, {"push", "image.tar"}} {
		for _, arg := range []string{"/dev/zero", "./missing", "../x:1", "image.tar", "."} {
			argv := append(slices.Clip(command), arg)
			cmd := exec.Command(bin, argv...)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "HTTPS_PROXY=http://"+l.Addr().String(), "NO_PROXY=")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			cmd.Run()
			if code := cmd.ProcessState.ExitCode(); code != exitBadInput || !strings.Contains(stderr.String(), "it is a file path") {
				t.Errorf("%v: exit %d, stderr %s", argv, code, stderr.String())
			}
		}
	}
	if n := asked.Load(); n != 0 {
		t.Errorf("prefetch, verify or push of a path asked the network %d times", n)
	}
}
