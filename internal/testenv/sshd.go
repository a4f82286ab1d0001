package testenv

import (
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// SSHServer is a private sshd on a loopback port, started by a test, that
// lets in one key made for the test, as the user running the test, and
// runs one forced command for it whatever the client asks.
type SSHServer struct {
	daemon
	Port int
	// Key is the client's private key (ssh -i Key).
	Key string
	// HostKey is the server's public host key, base64 as a Nix machines
	// line takes it (the last field of `--builders`).
	HostKey string
	// KnownHosts is a known_hosts file naming the host key for
	// [127.0.0.1]:Port.
	KnownHosts string
}

// SSHD starts an sshd (Debian's openssh-server) on a free loopback port
// that runs command for every session of the key it makes, and stops it
// when t ends. It needs root (sshd changes to the user it lets in) and
// skips without, or fails under CI=true.
func SSHD(t testing.TB, command string) *SSHServer {
	t.Helper()
	return startSSHD(t, command, freePort)
}

// startSSHD is SSHD on a port from freePort; it tries another port when
// sshd finds its own taken.
func startSSHD(t testing.TB, command string, freePort func() (int, error)) *SSHServer {
	t.Helper()
	RequireRoot(t, "sshd switches to the user it lets in, which only root may")
	sshd := Require(t, "sshd")
	keygen := Require(t, "ssh-keygen")
	Require(t, "ssh")
	dir, _, err := prepareDaemon("sshd", "bunix-sshd-")
	if err != nil {
		t.Fatal(err)
	}
	s := &SSHServer{daemon: daemon{name: "sshd", dir: dir}}
	fail := func(err error) {
		os.RemoveAll(dir)
		t.Fatal(err)
	}
	for _, k := range []string{"host", "client"} {
		if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-C", "bunix-test-"+k, "-f", filepath.Join(dir, k)).CombinedOutput(); err != nil {
			fail(fmt.Errorf("making the test's %s key: %v\n%s", k, err, out))
		}
	}
	s.Key = filepath.Join(dir, "client")
	client, err := os.ReadFile(s.Key + ".pub")
	if err != nil {
		fail(err)
	}
	host, err := os.ReadFile(filepath.Join(dir, "host.pub"))
	if err != nil {
		fail(err)
	}
	s.HostKey = base64.StdEncoding.EncodeToString(host)
	keys := fmt.Sprintf("command=%q,restrict %s", command, client)
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), []byte(keys), 0o600); err != nil {
		fail(err)
	}
	// sshd wants its privilege separation directory, which Debian's
	// service makes at start.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		fail(fmt.Errorf("making sshd's /run/sshd: %w", err))
	}
	// The port was free when picked; another process may take it before
	// sshd listens (go test ./... runs other packages' servers and
	// clients beside this one): sshd then exits, and starts again on
	// another port.
	for attempt := 1; ; attempt++ {
		if s.Port, err = freePort(); err != nil {
			fail(err)
		}
		if err := s.writeConfig(string(host)); err != nil {
			fail(err)
		}
		if err := s.launch(exec.Command(sshd, "-D", "-e", "-f", filepath.Join(dir, "sshd_config")), nil); err != nil {
			t.Fatal(err)
		}
		err = s.waitReady(net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)), 30*time.Second, s.listening)
		if err == nil {
			break
		}
		if attempt < portAttempts && s.portTaken() {
			continue
		}
		s.shutdown(10 * time.Second)
		t.Fatal(err)
	}
	stopAtCleanup(t, func() error { return s.shutdown(10 * time.Second) })
	return s
}

// writeConfig writes, for s.Port, the known_hosts file naming the host
// key hostPub (host.pub's line) and sshd's configuration.
func (s *SSHServer) writeConfig(hostPub string) error {
	fields := strings.Fields(hostPub)
	s.KnownHosts = filepath.Join(s.dir, "known_hosts")
	if err := os.WriteFile(s.KnownHosts, []byte(fmt.Sprintf("[127.0.0.1]:%d %s %s\n", s.Port, fields[0], fields[1])), 0o644); err != nil {
		return err
	}
	config := fmt.Sprintf(`ListenAddress 127.0.0.1:%d
HostKey %s
AuthorizedKeysFile %s
PidFile none
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers root
`, s.Port, filepath.Join(s.dir, "host"), filepath.Join(s.dir, "authorized_keys"))
	return os.WriteFile(filepath.Join(s.dir, "sshd_config"), []byte(config), 0o644)
}

// listening reports whether sshd has said it listens on s.Port, and then
// whether a connection to the port is accepted. The log line tells this
// sshd from another process that took the port first, which would accept
// the connection as well.
func (s *SSHServer) listening() bool {
	log, err := os.ReadFile(s.logFile())
	if err != nil || !strings.Contains(string(log), fmt.Sprintf("Server listening on 127.0.0.1 port %d.", s.Port)) {
		return false
	}
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// portTaken reports whether sshd has exited because another process
// listens on its port.
func (s *SSHServer) portTaken() bool {
	return s.exitedSaying("Address already in use")
}

// SSHOptions are the options of ssh that reach the server with its key,
// as NIX_SSHOPTS takes them.
func (s *SSHServer) SSHOptions() string {
	return fmt.Sprintf("-p %d -i %s -o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes -o BatchMode=yes", s.Port, s.Key, s.KnownHosts)
}
