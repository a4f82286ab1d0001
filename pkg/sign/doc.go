// Package sign makes and checks signatures the way cosign does for a key
// pair (cosign sign --key / cosign verify --key, without a transparency
// log): an ECDSA P-256 signature, over SHA-256, of a simple-signing payload
// that names the signed manifest's digest. It reads PEM keys: PKCS#8 and
// SEC 1 private keys, cosign's encrypted private keys (scrypt and NaCl
// secretbox, the password given by the caller), and PKIX public keys.
//
// It does no network work: pkg/registry stores a Signature under the tag
// cosign looks for (SignatureTag) and reads it back.
package sign
