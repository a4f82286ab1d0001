package sign

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/crypto/nacl/secretbox"
	"golang.org/x/crypto/scrypt"
)

func newKey(t *testing.T, c elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pemOf(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// encrypted returns key as cosign generate-key-pair writes cosign.key
// (go-securesystemslib's encrypted format: scrypt N=32768 r=8 p=1, NaCl
// secretbox), under password.
func encrypted(t *testing.T, key *ecdsa.PrivateKey, password string, n int) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	salt := make([]byte, 32)
	var nonce [24]byte
	rand.Read(salt)
	rand.Read(nonce[:])
	var k encryptedKey
	k.KDF.Name, k.KDF.Params.N, k.KDF.Params.R, k.KDF.Params.P, k.KDF.Salt = "scrypt", n, 8, 1, salt
	k.Cipher.Name, k.Cipher.Nonce = "nacl/secretbox", nonce[:]
	if n <= maxScryptN {
		secret, err := scrypt.Key([]byte(password), salt, n, 8, 1, 32)
		if err != nil {
			t.Fatal(err)
		}
		var sk [32]byte
		copy(sk[:], secret)
		k.Ciphertext = secretbox.Seal(nil, der, &nonce, &sk)
	}
	b, err := json.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	return pemOf("ENCRYPTED SIGSTORE PRIVATE KEY", b)
}

func password(s string) func() []byte {
	return func() []byte {
		if s == "" {
			return nil
		}
		return []byte(s)
	}
}

// TestParsePrivateKey: the forms of P-256 key bunix signs with, and a
// clear error for everything else.
func TestParsePrivateKey(t *testing.T) {
	key := newKey(t, elliptic.P256())
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(key)
	sec1, _ := x509.MarshalECPrivateKey(key)
	pub, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 1024)
	rsaDER, _ := x509.MarshalPKCS8PrivateKey(rsaKey)
	p384, _ := x509.MarshalPKCS8PrivateKey(newKey(t, elliptic.P384()))
	for _, tc := range []struct {
		name     string
		data     []byte
		password string
		want     string // "" for success
		is       error
	}{
		{name: "pkcs8", data: pemOf("PRIVATE KEY", pkcs8)},
		{name: "sec1", data: pemOf("EC PRIVATE KEY", sec1)},
		{name: "cosign encrypted", data: encrypted(t, key, "pw", 1<<10), password: "pw"},
		{name: "cosign encrypted, empty password", data: encrypted(t, key, "", 1<<10)},
		{name: "wrong password", data: encrypted(t, key, "pw", 1<<10), password: "nope", want: "the password does not decrypt the key", is: ErrWrongPassword},
		{name: "no password", data: encrypted(t, key, "pw", 1<<10), want: "COSIGN_PASSWORD", is: ErrPasswordNeeded},
		{name: "scrypt bomb", data: encrypted(t, key, "pw", 1<<30), password: "pw", want: "scrypt parameters N=1073741824 r=8 p=1 out of bounds"},
		{name: "public", data: pemOf("PUBLIC KEY", pub), want: "is a public key: signing needs the private key"},
		{name: "rsa", data: pemOf("PRIVATE KEY", rsaDER), want: "bunix signs with ECDSA P-256 keys only"},
		{name: "p384", data: pemOf("PRIVATE KEY", p384), want: "is an ECDSA key on P-384"},
		{name: "not pem", data: []byte("hello"), want: "is not a PEM file"},
		{name: "certificate", data: pemOf("CERTIFICATE", []byte("x")), want: `holds a PEM "CERTIFICATE" block, not a private key`},
		{name: "too large", data: make([]byte, MaxKeySize+1), want: "more than a key file holds"},
		{name: "broken pkcs8", data: pemOf("PRIVATE KEY", []byte("x")), want: "is not a readable PRIVATE KEY"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePrivateKey("k.pem", tc.data, password(tc.password))
			if tc.want == "" {
				if err != nil || !got.Equal(key) {
					t.Fatalf("got %v, %v; want the key", got, err)
				}
				return
			}
			var ke *KeyError
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "key k.pem: ") || !errors.As(err, &ke) {
				t.Fatalf("error %v, want a *KeyError naming k.pem and %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
		})
	}
}

// TestParsePublicKey: a PKIX P-256 public key, and a clear refusal of a
// private one.
func TestParsePublicKey(t *testing.T) {
	key := newKey(t, elliptic.P256())
	pub, err := MarshalPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParsePublicKey("k.pub", pub)
	if err != nil || !got.Equal(&key.PublicKey) {
		t.Fatalf("got %v, %v", got, err)
	}
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(key)
	if _, err := ParsePublicKey("k.pem", pemOf("PRIVATE KEY", pkcs8)); err == nil || !strings.Contains(err.Error(), "never the private one") {
		t.Errorf("a private key as the public one: %v", err)
	}
}

// TestSignVerify: a signature verifies with its key and digest, and is
// refused with another key, another digest or a changed payload. The
// payload is byte for byte what cosign signs.
func TestSignVerify(t *testing.T) {
	key, other := newKey(t, elliptic.P256()), newKey(t, elliptic.P256())
	d := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}
	payload := NewPayload("127.0.0.1:5000/urunc/redis", d)
	want := `{"critical":{"identity":{"docker-reference":"127.0.0.1:5000/urunc/redis"},"image":{"docker-manifest-digest":"sha256:` + d.Hex + `"},"type":"cosign container image signature"},"optional":null}`
	if string(payload) != want {
		t.Errorf("payload\n%s\nwant\n%s", payload, want)
	}
	if got := SignatureTag(d); got != "sha256-"+d.Hex+".sig" {
		t.Errorf("tag %s", got)
	}
	sig, err := Sign(key, payload)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(&key.PublicKey, payload, sig, d); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if err := Verify(&other.PublicKey, payload, sig, d); !errors.Is(err, ErrOtherKey) {
		t.Errorf("another key: %v", err)
	}
	changed := strings.Replace(string(payload), "redis", "redix", 1)
	if err := Verify(&key.PublicKey, []byte(changed), sig, d); !errors.Is(err, ErrOtherKey) {
		t.Errorf("a changed payload: %v", err)
	}
	d2 := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("cd", 32)}
	if err := Verify(&key.PublicKey, payload, sig, d2); !errors.Is(err, ErrOtherImage) || !strings.Contains(err.Error(), "it signs sha256:abab") {
		t.Errorf("another digest: %v", err)
	}
	if err := Verify(&key.PublicKey, payload, "not base64!", d); err == nil || !strings.Contains(err.Error(), "is not base64") {
		t.Errorf("bad base64: %v", err)
	}
}

// FuzzParsePrivateKey: any key file gives a key or an error, never a
// panic, and never unbounded work.
func FuzzParsePrivateKey(f *testing.F) {
	f.Add([]byte("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\neyJrZGYiOnsibmFtZSI6InNjcnlwdCIsInBhcmFtcyI6eyJOIjoxNiwiciI6MSwicCI6MX0sInNhbHQiOiIifSwiY2lwaGVyIjp7Im5hbWUiOiJuYWNsL3NlY3JldGJveCIsIm5vbmNlIjoiQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUEifSwiY2lwaGVydGV4dCI6IiJ9\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n"))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ParsePrivateKey("k", data, password("pw"))
		ParsePublicKey("k", data)
	})
}
