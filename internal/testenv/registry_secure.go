package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"golang.org/x/crypto/bcrypt"
)

// Secure makes the registry serve HTTPS only, with a certificate for
// 127.0.0.1 signed by itself (its PEM at CAFile, what SSL_CERT_FILE or a
// CA bundle names), and ask for HTTP basic authentication as user with
// password: distribution's htpasswd auth, which takes bcrypt hashes and
// answers 401 with a Basic challenge, as a registry behind docker login
// does.
func Secure(user, password string) RegistryOption {
	return func(r *RegistryServer) { r.user, r.password = user, password }
}

// secure reports whether the registry serves HTTPS with authentication.
func (r *RegistryServer) secure() bool { return r.user != "" }

// Scheme is how the registry is reached: "https" for a Secure one, else
// "http".
func (r *RegistryServer) Scheme() string {
	if r.secure() {
		return "https"
	}
	return "http"
}

// Auth returns what a client sends the registry: basic credentials for a
// Secure registry, anonymous otherwise.
func (r *RegistryServer) Auth() authn.Authenticator {
	if !r.secure() {
		return authn.Anonymous
	}
	return &authn.Basic{Username: r.user, Password: r.password}
}

// Transport returns the HTTP transport that talks to the registry, one for
// each registry so that its connections are reused: it trusts the
// registry's certificate when it is Secure, and never uses a proxy.
func (r *RegistryServer) Transport() http.RoundTripper {
	r.transportOnce.Do(func() {
		t := &http.Transport{Proxy: nil}
		if r.secure() {
			t.TLSClientConfig = &tls.Config{RootCAs: r.pool}
		}
		r.transport = t
	})
	return r.transport
}

// writeSecrets writes the certificate, its key and the htpasswd file of a
// Secure registry into its directory, and returns the config's http.tls
// and auth sections.
func (r *RegistryServer) writeSecrets() (tlsConfig, auth map[string]any, err error) {
	certPEM, keyPEM, err := selfSigned("127.0.0.1")
	if err != nil {
		return nil, nil, err
	}
	r.CAFile = filepath.Join(r.dir, "ca.pem")
	key := filepath.Join(r.dir, "key.pem")
	// The lowest cost bcrypt allows: the test's speed matters, not the
	// hash's strength.
	hash, err := bcrypt.GenerateFromPassword([]byte(r.password), bcrypt.MinCost)
	if err != nil {
		return nil, nil, err
	}
	htpasswd := filepath.Join(r.dir, "htpasswd")
	for _, f := range []struct {
		name string
		data []byte
	}{{r.CAFile, certPEM}, {key, keyPEM}, {htpasswd, []byte(r.user + ":" + string(hash) + "\n")}} {
		if err := os.WriteFile(f.name, f.data, 0o600); err != nil {
			return nil, nil, err
		}
	}
	r.pool = x509.NewCertPool()
	if !r.pool.AppendCertsFromPEM(certPEM) {
		return nil, nil, fmt.Errorf("the certificate just made does not parse")
	}
	return map[string]any{"certificate": r.CAFile, "key": key},
		map[string]any{"htpasswd": map[string]any{"realm": "bunix-testenv", "path": htpasswd}}, nil
}

// selfSigned makes an ECDSA P-256 certificate for the IP address ip, valid
// for a day and signed by its own key, which is thus its own CA.
func selfSigned(ip string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "bunix-testenv registry"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.ParseIP(ip)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}
