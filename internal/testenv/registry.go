package testenv

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"gopkg.in/yaml.v3"
)

const (
	// registryStartTimeout bounds the wait for a new registry to answer.
	registryStartTimeout = 30 * time.Second
	// registryStopTimeout bounds the wait for a registry to exit on SIGTERM
	// before it gets SIGKILL.
	registryStopTimeout = 10 * time.Second
	// registryRequestTimeout bounds one HTTP request to a registry.
	registryRequestTimeout = 30 * time.Second
)

// manifestMediaTypes are the media types Manifest accepts when given none:
// Docker's and OCI's manifests and indexes.
var manifestMediaTypes = []string{
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
}

// RegistryServer is a private registry: Debian's docker-registry
// (distribution 2.8) serving plain HTTP on a free port of 127.0.0.1, with
// no authentication, deletes enabled, and filesystem storage in a temporary
// directory. It reaches nothing on the network: no notifications, no Redis,
// no proxying of another registry, no debug listener. It is safe for
// concurrent use.
type RegistryServer struct {
	// Addr is the registry's host and port, "127.0.0.1:PORT": the first
	// part of the references of its images ("127.0.0.1:PORT/repo:tag").
	// Docker and go-containerregistry use plain HTTP for a loopback
	// address; skopeo needs --dest-tls-verify=false or --src-tls-verify=false.
	Addr string

	// CAFile is, for a Secure registry, the PEM file of the certificate
	// it serves, which is its own CA: what SSL_CERT_FILE names for a
	// client that is to trust it. Empty otherwise.
	CAFile string

	readOnly       bool
	user, password string
	pool           *x509.CertPool
	transportOnce  sync.Once
	transport      *http.Transport
	daemon
}

// RegistryOption changes the registry Registry starts.
type RegistryOption func(*RegistryServer)

// ReadOnly makes the registry refuse pushes and deletes, the way a registry
// in maintenance does (storage.maintenance.readonly): it answers them 405
// Method Not Allowed, with the plain text "Method not allowed" rather than
// a registry error code. It still serves pulls, of nothing: its storage
// starts empty.
func ReadOnly() RegistryOption {
	return func(r *RegistryServer) { r.readOnly = true }
}

// Registry starts a private registry for t, and stops it and removes its
// files when t ends. It skips t (fails it under CI=true) when
// docker-registry is missing.
func Registry(t testing.TB, opts ...RegistryOption) *RegistryServer {
	t.Helper()
	Require(t, "docker-registry")
	r, err := startRegistry(opts, freePort)
	if err != nil {
		t.Fatal(err)
	}
	stopAtCleanup(t, r.stop)
	return r
}

// PushIndex pushes idx to the registry as repoTag ("unikraft/nginx:1.15")
// and returns its reference, "127.0.0.1:PORT/unikraft/nginx:1.15". It
// fails t when the registry refuses it.
func (r *RegistryServer) PushIndex(t testing.TB, repoTag string, idx v1.ImageIndex) string {
	t.Helper()
	ref := r.Addr + "/" + repoTag
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(tag, idx, remote.WithTransport(r.Transport()), remote.WithAuth(r.Auth())); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	return ref
}

// Manifest fetches the manifest repo:ref, or repo@ref when ref is a digest,
// over plain HTTP (HTTPS with credentials for a Secure registry), asking for the media types accept (by default, Docker's
// and OCI's manifests and indexes). It returns the manifest as served, its
// digest from the Docker-Content-Digest header, checked against the body
// (and against ref when ref is a digest), and its media type from the
// Content-Type header. It fails t on any other answer than 200.
func (r *RegistryServer) Manifest(t testing.TB, repo, ref string, accept ...string) (body []byte, digest, mediaType string) {
	t.Helper()
	if len(accept) == 0 {
		accept = manifestMediaTypes
	}
	url := r.Scheme() + "://" + r.Addr + "/v2/" + repo + "/manifests/" + ref
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatalf("fetching the manifest %s: %v", url, err)
	}
	req.Header.Set("Accept", strings.Join(accept, ", "))
	resp, err := r.do(req)
	if err != nil {
		t.Fatalf("fetching the manifest %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("fetching the manifest %s: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("fetching the manifest %s: %s\n%s", url, resp.Status, body)
	}
	digest = resp.Header.Get("Docker-Content-Digest")
	sum := sha256.Sum256(body)
	if want := "sha256:" + hex.EncodeToString(sum[:]); digest != want {
		t.Fatalf("fetching the manifest %s: Docker-Content-Digest is %q, want %s, the digest of the body", url, digest, want)
	}
	if strings.HasPrefix(ref, "sha256:") && digest != ref {
		t.Fatalf("fetching the manifest %s: got the manifest %s", url, digest)
	}
	return body, digest, resp.Header.Get("Content-Type")
}

// do sends req to the registry, on loopback and so never through a proxy,
// trusting its certificate and with its credentials when it is Secure.
func (r *RegistryServer) do(req *http.Request) (*http.Response, error) {
	if r.secure() {
		req.SetBasicAuth(r.user, r.password)
	}
	return (&http.Client{Transport: r.Transport(), Timeout: registryRequestTimeout}).Do(req)
}

// startRegistry starts a registry with opts in a new directory, on a port
// from freePort, and waits until it answers; it tries another port when the
// registry finds its own taken.
func startRegistry(opts []RegistryOption, freePort func() (int, error)) (*RegistryServer, error) {
	dir, bins, err := prepareDaemon("docker-registry", "bunix-registry-", "docker-registry")
	if err != nil {
		return nil, err
	}
	bin := bins[0]
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("starting a private docker-registry: %w", err)
		}
		r := &RegistryServer{
			Addr:   net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
			daemon: daemon{name: "docker-registry", dir: dir},
		}
		for _, opt := range opts {
			opt(r)
		}
		if err := r.launch(r.command(bin)); err != nil {
			return nil, err
		}
		err = r.waitReady(r.Scheme()+"://"+r.Addr+"/v2/", registryStartTimeout, r.answers)
		if err == nil {
			return r, nil
		}
		if attempt < portAttempts && r.portTaken() {
			// The registry has exited; its directory holds only the
			// config, which command rewrites, and the log, which start
			// truncates.
			continue
		}
		r.stop()
		return nil, err
	}
}

// freePort returns a port of 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("picking a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// command writes the registry's configuration and returns the command that
// starts it.
func (r *RegistryServer) command(bin string) (*exec.Cmd, error) {
	cfg := r.config()
	if r.secure() {
		tlsConfig, auth, err := r.writeSecrets()
		if err != nil {
			return nil, fmt.Errorf("starting a private docker-registry: %w", err)
		}
		cfg["http"].(map[string]any)["tls"] = tlsConfig
		cfg["auth"] = auth
	}
	config, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("starting a private docker-registry: %w", err)
	}
	name := filepath.Join(r.dir, "config.yml")
	if err := os.WriteFile(name, config, 0o600); err != nil {
		return nil, fmt.Errorf("starting a private docker-registry: %w", err)
	}
	cmd := exec.Command(bin, "serve", name)
	// REGISTRY_ variables override the configuration file.
	cmd.Env = environWithout("REGISTRY_")
	return cmd, nil
}

// config returns the registry's configuration, in the shape of
// distribution's config.yml. What it leaves out stays off: notifications,
// redis, proxy (a pull-through cache of another registry), http.debug (a
// second listener), reporting; and, unless the registry is Secure (command
// adds them then), http.tls and auth.
func (r *RegistryServer) config() map[string]any {
	return map[string]any{
		"version": "0.1",
		"log": map[string]any{
			"level":     "info",
			"formatter": "text",
		},
		"storage": map[string]any{
			"filesystem": map[string]any{"rootdirectory": filepath.Join(r.dir, "data")},
			"delete":     map[string]any{"enabled": true},
			"maintenance": map[string]any{
				"uploadpurging": map[string]any{"enabled": false},
				"readonly":      map[string]any{"enabled": r.readOnly},
			},
		},
		"http": map[string]any{
			"addr": r.Addr,
			// Signs the state of uploads; without it the registry makes up
			// one and warns.
			"secret": "bunix-testenv",
		},
		"health": map[string]any{
			"storagedriver": map[string]any{"enabled": false},
		},
	}
}

// answers reports whether the registry has said it listens on r.Addr, and
// then whether it answers GET /v2/ with 200. The log line tells this
// registry from another process that took the port first.
func (r *RegistryServer) answers() bool {
	log, err := os.ReadFile(r.logFile())
	listening := `msg="listening on ` + r.Addr + `"`
	if r.secure() {
		listening = `msg="listening on ` + r.Addr + `, tls"`
	}
	if err != nil || !strings.Contains(string(log), listening) {
		return false
	}
	req, err := http.NewRequest(http.MethodGet, r.Scheme()+"://"+r.Addr+"/v2/", nil)
	if err != nil {
		return false
	}
	resp, err := r.do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// portTaken reports whether the registry has exited because another
// process listens on its port.
func (r *RegistryServer) portTaken() bool {
	return r.exitedSaying("bind: address already in use")
}

// stop stops the registry, SIGKILL if it outlives registryStopTimeout, and
// removes its directory.
func (r *RegistryServer) stop() error {
	if r.transport != nil {
		r.transport.CloseIdleConnections()
	}
	return r.shutdown(registryStopTimeout)
}
