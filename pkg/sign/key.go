package sign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/nubificus/bunix/internal/filekind"
	"golang.org/x/crypto/nacl/secretbox"
	"golang.org/x/crypto/scrypt"
)

// PEM block types of the keys ParsePrivateKey and ParsePublicKey read.
const (
	pemPKCS8 = "PRIVATE KEY"
	pemSEC1  = "EC PRIVATE KEY"
	// cosign's encrypted private keys: the newer name first.
	pemSigstoreEncrypted = "ENCRYPTED SIGSTORE PRIVATE KEY"
	pemCosignEncrypted   = "ENCRYPTED COSIGN PRIVATE KEY"
	pemPublic            = "PUBLIC KEY"
)

// MaxKeySize bounds a key file: a P-256 key in any of the forms read here
// is well under a kilobyte.
const MaxKeySize = 64 << 10

// ErrPasswordNeeded is the error (wrapped) for an encrypted key given no
// password.
var ErrPasswordNeeded = errors.New("the key is encrypted: give its password (COSIGN_PASSWORD)")

// ErrWrongPassword is the error (wrapped) for an encrypted key whose
// password is not the one given.
var ErrWrongPassword = errors.New("the password does not decrypt the key")

// KeyError is a key that cannot be used: its file's name, and why.
type KeyError struct {
	File   string
	Reason string
	Err    error
}

func (e *KeyError) Error() string {
	msg := fmt.Sprintf("key %s: %s", e.File, e.Reason)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *KeyError) Unwrap() error { return e.Err }

// ParsePrivateKey reads the ECDSA P-256 private key in data, a PEM file
// named file in errors: PKCS#8 ("PRIVATE KEY"), SEC 1 ("EC PRIVATE KEY"),
// or cosign's encrypted key ("ENCRYPTED SIGSTORE PRIVATE KEY" or
// "ENCRYPTED COSIGN PRIVATE KEY"), which password decrypts. password is
// called only for an encrypted key; it returns nil when none was given, and
// then the empty password, which cosign allows, is tried.
func ParsePrivateKey(file string, data []byte, password func() []byte) (*ecdsa.PrivateKey, error) {
	block, err := pemBlock(file, data)
	if err != nil {
		return nil, err
	}
	var key any
	switch block.Type {
	case pemPKCS8:
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case pemSEC1:
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case pemSigstoreEncrypted, pemCosignEncrypted:
		var der []byte
		if der, err = decrypt(block.Bytes, password()); err != nil {
			return nil, &KeyError{File: file, Reason: "cannot decrypt it", Err: err}
		}
		key, err = x509.ParsePKCS8PrivateKey(der)
	case pemPublic:
		return nil, &KeyError{File: file, Reason: "is a public key: signing needs the private key (verifying takes the public one)"}
	default:
		return nil, &KeyError{File: file, Reason: fmt.Sprintf("holds a PEM %q block, not a private key (PRIVATE KEY, EC PRIVATE KEY or cosign's ENCRYPTED SIGSTORE PRIVATE KEY)", block.Type)}
	}
	if err != nil {
		return nil, &KeyError{File: file, Reason: "is not a readable " + block.Type, Err: err}
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		return nil, &KeyError{File: file, Reason: fmt.Sprintf("is a %T key: bunix signs with ECDSA P-256 keys only (cosign generate-key-pair, or openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256)", key)}
	}
	if ec.Curve != elliptic.P256() {
		return nil, &KeyError{File: file, Reason: fmt.Sprintf("is an ECDSA key on %s: bunix signs with P-256 keys only", ec.Curve.Params().Name)}
	}
	return ec, nil
}

// ParsePublicKey reads the ECDSA P-256 public key in data, a PEM
// "PUBLIC KEY" (PKIX) file named file in errors, as cosign generate-key-pair
// writes cosign.pub.
func ParsePublicKey(file string, data []byte) (*ecdsa.PublicKey, error) {
	block, err := pemBlock(file, data)
	if err != nil {
		return nil, err
	}
	if block.Type != pemPublic {
		reason := fmt.Sprintf("holds a PEM %q block, not a PUBLIC KEY", block.Type)
		if block.Type != "CERTIFICATE" {
			reason += ": verifying takes the public key (cosign.pub), never the private one"
		}
		return nil, &KeyError{File: file, Reason: reason}
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, &KeyError{File: file, Reason: "is not a readable PUBLIC KEY", Err: err}
	}
	ec, ok := key.(*ecdsa.PublicKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, &KeyError{File: file, Reason: fmt.Sprintf("is a %T key: bunix verifies ECDSA P-256 signatures only", key)}
	}
	return ec, nil
}

// MarshalPublicKey returns the PEM "PUBLIC KEY" of key, as cosign writes
// cosign.pub.
func MarshalPublicKey(key crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		return nil, fmt.Errorf("encoding the public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPublic, Bytes: der}), nil
}

// pemBlock returns the one PEM block of data.
func pemBlock(file string, data []byte) (*pem.Block, error) {
	if len(data) > MaxKeySize {
		return nil, &KeyError{File: file, Reason: fmt.Sprintf("is %d bytes, more than a key file holds (at most %d)", len(data), MaxKeySize)}
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, &KeyError{File: file, Reason: "is not a PEM file (-----BEGIN ...-----)"}
	}
	return block, nil
}

// encryptedKey is the JSON of cosign's encrypted private key
// (go-securesystemslib's encrypted package): the password is stretched by
// scrypt into the key of a NaCl secretbox holding the PKCS#8 key.
type encryptedKey struct {
	KDF struct {
		Name   string `json:"name"`
		Params struct {
			N int `json:"N"`
			R int `json:"r"`
			P int `json:"p"`
		} `json:"params"`
		Salt []byte `json:"salt"`
	} `json:"kdf"`
	Cipher struct {
		Name  string `json:"name"`
		Nonce []byte `json:"nonce"`
	} `json:"cipher"`
	Ciphertext []byte `json:"ciphertext"`
}

// Bounds of the scrypt parameters an encrypted key may ask for: cosign
// writes N=32768, r=8, p=1 (32 MiB, a fraction of a second); past these a
// key file would have bunix spend gigabytes of memory or minutes of work.
const (
	maxScryptN      = 1 << 20
	maxScryptMemory = 256 << 20 // 128·N·r bytes
	maxScryptP      = 4
)

func decrypt(data, password []byte) ([]byte, error) {
	var k encryptedKey
	if err := json.Unmarshal(data, &k); err != nil {
		return nil, fmt.Errorf("not cosign's encrypted key JSON: %w", err)
	}
	p := k.KDF.Params
	switch {
	case k.KDF.Name != "scrypt":
		return nil, fmt.Errorf("key derivation %q, not scrypt", k.KDF.Name)
	case k.Cipher.Name != "nacl/secretbox":
		return nil, fmt.Errorf("cipher %q, not nacl/secretbox", k.Cipher.Name)
	case p.N < 2 || p.N > maxScryptN || p.N&(p.N-1) != 0 || p.R < 1 || p.R > maxScryptMemory/128/p.N || p.P < 1 || p.P > maxScryptP:
		return nil, fmt.Errorf("scrypt parameters N=%d r=%d p=%d out of bounds (N a power of two, 128·N·r at most %d MiB, p at most %d; cosign uses N=32768 r=8 p=1)", p.N, p.R, p.P, maxScryptMemory>>20, maxScryptP)
	case len(k.Cipher.Nonce) != 24:
		return nil, fmt.Errorf("nonce of %d bytes, not 24", len(k.Cipher.Nonce))
	}
	var nonce [24]byte
	copy(nonce[:], k.Cipher.Nonce)
	open := func(password []byte) ([]byte, bool, error) {
		secret, err := scrypt.Key(password, k.KDF.Salt, p.N, p.R, p.P, 32)
		if err != nil {
			return nil, false, fmt.Errorf("scrypt: %w", err)
		}
		var key [32]byte
		copy(key[:], secret)
		plain, ok := secretbox.Open(nil, k.Ciphertext, &nonce, &key)
		return plain, ok, nil
	}
	if password == nil {
		// cosign generate-key-pair takes an empty password too.
		plain, ok, err := open([]byte{})
		if err != nil || !ok {
			return nil, ErrPasswordNeeded
		}
		return plain, nil
	}
	plain, ok, err := open(password)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrWrongPassword
	}
	return plain, nil
}

// ReadPrivateKey reads and parses (ParsePrivateKey) the private key file
// at path: a regular file of at most MaxKeySize bytes.
func ReadPrivateKey(path string, password func() []byte) (*ecdsa.PrivateKey, error) {
	data, err := filekind.ReadRegular(path, MaxKeySize)
	if err != nil {
		return nil, &KeyError{File: path, Reason: "cannot be read", Err: err}
	}
	return ParsePrivateKey(path, data, password)
}

// ReadPublicKey reads and parses (ParsePublicKey) the public key file at
// path: a regular file of at most MaxKeySize bytes.
func ReadPublicKey(path string) (*ecdsa.PublicKey, error) {
	data, err := filekind.ReadRegular(path, MaxKeySize)
	if err != nil {
		return nil, &KeyError{File: path, Reason: "cannot be read", Err: err}
	}
	return ParsePublicKey(path, data)
}
