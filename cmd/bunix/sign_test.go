package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/sbom"
	"github.com/nubificus/bunix/pkg/sign"
)

// cosign runs the real cosign with args and returns its exit code and
// output.
func cosign(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(testenv.Cosign(t), args...)
	cmd.Env = append(append(os.Environ(), "HOME="+t.TempDir(), "TUF_ROOT="+t.TempDir()), env...)
	out, err := cmd.CombinedOutput()
	if err != nil && cmd.ProcessState == nil {
		t.Fatalf("cosign %v: %v", args, err)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

// pkcs8Key writes a new P-256 key as PKCS#8 PEM and its public key, and
// returns their paths.
func pkcs8Key(t *testing.T, dir, name string) (key, pub string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	p, err := sign.MarshalPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	key, pub = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".pub")
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	os.WriteFile(pub, p, 0o644)
	return key, pub
}

// TestSignedRelease is the release the docs show, against a real
// registry: build with --sbom, push with --sign-key (cosign's own
// encrypted key) and --sbom. The real cosign verifies the signature and
// refuses another key; bunix verify agrees; the SBOM is listed as a
// referrer of the image, parses with tools-golang, and its checksums are
// those of the files of the image the registry serves. Then the tag moves
// to an image signed by another key, and both refuse it.
func TestSignedRelease(t *testing.T) {
	cosignBin := testenv.Cosign(t)
	reg := testenv.Registry(t)
	dir := project(t)
	keys := t.TempDir()
	pw := []string{"COSIGN_PASSWORD=correct horse"}
	if code, out := cosign(t, pw, "generate-key-pair", "--output-key-prefix", filepath.Join(keys, "cosign")); code != 0 {
		t.Fatalf("cosign generate-key-pair (%s): exit %d\n%s", cosignBin, code, out)
	}
	cosignKey, cosignPub := filepath.Join(keys, "cosign.key"), filepath.Join(keys, "cosign.pub")
	otherKey, otherPub := pkcs8Key(t, keys, "other")

	img, doc := filepath.Join(t.TempDir(), "image.tar"), filepath.Join(t.TempDir(), "image.spdx.json")
	if code, _, stderr := cli(t, nil, "build", "-f", filepath.Join(dir, "args.json"), "--format", "oci-archive", "-o", img, "--sbom", doc); code != 0 {
		t.Fatalf("build: exit %d\n%s", code, stderr)
	}
	ref := reg.Addr + "/urunc/redis:1.0"
	code, stdout, stderr := cli(t, map[string]string{"COSIGN_PASSWORD": "correct horse"}, "push", "--sign-key", cosignKey, "--sbom", doc, img, ref)
	if code != 0 {
		t.Fatalf("push: exit %d\n%s", code, stderr)
	}
	pushed := strings.TrimSpace(stdout)
	if !strings.Contains(stderr, "signed sha256:") || !strings.Contains(stderr, "attached the SBOM") {
		t.Errorf("push stderr %q", stderr)
	}

	verify := func(pub string) (bunix int, bunixOut string, cosign_ int, cosignOut string) {
		bunix, bunixOut, bunixErr := cli(t, nil, "verify", "--key", pub, ref)
		cosign_, cosignOut = cosign(t, nil, "verify", "--key", pub, "--insecure-ignore-tlog=true", "--allow-http-registry", ref)
		return bunix, strings.TrimSpace(bunixOut) + bunixErr, cosign_, cosignOut
	}
	digest := pushed[strings.Index(pushed, "@")+1:]
	b, bout, c, cout := verify(cosignPub)
	if c != 0 || !strings.Contains(cout, digest) {
		t.Errorf("cosign verify of bunix's signature: exit %d\n%s", c, cout)
	}
	if b != 0 || bout != pushed {
		t.Errorf("bunix verify: exit %d, %q; want 0 and %q", b, bout, pushed)
	}
	b, bout, c, cout = verify(otherPub)
	if c == 0 {
		t.Errorf("cosign verify with another key: exit 0\n%s", cout)
	}
	if b != exitFailure || !strings.Contains(bout, "does not verify with this key") {
		t.Errorf("bunix verify with another key: exit %d, %q", b, bout)
	}

	// The SBOM is a referrer of the pushed digest, as the registry lists it.
	checkReferrer(t, pushed, doc)

	// The tag moves to another image, signed by another key.
	os.WriteFile(filepath.Join(dir, "kernel"), []byte("another kernel"), 0o644)
	img2 := filepath.Join(t.TempDir(), "image.tar")
	if code, _, stderr := cli(t, nil, "build", "-f", filepath.Join(dir, "args.json"), "--format", "oci-archive", "-o", img2); code != 0 {
		t.Fatalf("build: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := cli(t, nil, "push", "--sign-key", otherKey, img2, ref); code != 0 {
		t.Fatalf("push: exit %d\n%s", code, stderr)
	}
	b, bout, c, cout = verify(cosignPub)
	if c == 0 {
		t.Errorf("cosign verify of the changed image with the first key: exit 0\n%s", cout)
	}
	if b != exitFailure || !strings.Contains(bout, "does not verify with this key") || strings.Contains(bout, digest) {
		t.Errorf("bunix verify of the changed image: exit %d, %q", b, bout)
	}
	if b, bout, c, cout = verify(otherPub); b != 0 || c != 0 {
		t.Errorf("verify of the changed image with its key: bunix exit %d %q, cosign exit %d\n%s", b, bout, c, cout)
	}

	// A signature the real cosign makes, bunix verify accepts.
	if code, out := cosign(t, pw, "sign", "--key", cosignKey, "--tlog-upload=false", "--allow-http-registry", "--yes", ref); code != 0 {
		t.Fatalf("cosign sign: exit %d\n%s", code, out)
	}
	if code, out, stderr := cli(t, nil, "verify", "--key", cosignPub, ref); code != 0 || !strings.Contains(out, "@sha256:") {
		t.Errorf("bunix verify of cosign's signature: exit %d %q %s", code, out, stderr)
	}

	// The first image, by digest, is still signed by the first key.
	if code, out, _ := cli(t, nil, "verify", "--key", cosignPub, pushed); code != 0 || strings.TrimSpace(out) != pushed {
		t.Errorf("bunix verify %s: exit %d %q", pushed, code, out)
	}
}

// checkReferrer finds the SBOM among the referrers of pushed, compares
// it with the file doc, parses it with tools-golang, and checks that its
// files' checksums are those of the pushed image's layers.
func checkReferrer(t *testing.T, pushed, doc string) {
	t.Helper()
	d, err := name.NewDigest(pushed)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Referrers(d)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var blob []byte
	for _, desc := range im.Manifests {
		if desc.ArtifactType != sbom.MediaType {
			continue
		}
		art, err := remote.Image(d.Context().Digest(desc.Digest.String()))
		if err != nil {
			t.Fatal(err)
		}
		m, err := art.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		if m.Subject == nil || m.Subject.Digest.String() != d.DigestStr() || len(m.Layers) != 1 || string(m.Layers[0].MediaType) != sbom.MediaType {
			t.Fatalf("SBOM artifact manifest %+v", m)
		}
		l, err := art.LayerByDigest(m.Layers[0].Digest)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		blob, _ = io.ReadAll(rc)
		rc.Close()
	}
	if blob == nil {
		t.Fatalf("no referrer of %s has artifactType %s: %+v", pushed, sbom.MediaType, im.Manifests)
	}
	if want, _ := os.ReadFile(doc); !bytes.Equal(blob, want) {
		t.Error("the attached SBOM is not the file pushed")
	}
	_, files := testenv.ReadSPDX(t, blob)
	img, err := remote.Image(d)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	testenv.CheckSBOMFiles(t, files, layers, 3)
}

// TestSignBadInput: keys and SBOMs that cannot be used are bad input
// (exit 2), found before anything is pushed: the registry at 127.0.0.1:1
// is never asked, or push would fail with exit 1.
func TestSignBadInput(t *testing.T) {
	dir := project(t)
	keys := t.TempDir()
	key, pub := pkcs8Key(t, keys, "k")
	img := filepath.Join(t.TempDir(), "image.tar")
	if code, _, stderr := cli(t, nil, "build", "-f", filepath.Join(dir, "args.json"), "-o", img); code != 0 {
		t.Fatalf("build: exit %d\n%s", code, stderr)
	}
	notSPDX := filepath.Join(keys, "x.json")
	os.WriteFile(notSPDX, []byte(`{"bomFormat":"CycloneDX"}`), 0o644)
	enc := filepath.Join(keys, "enc.key")
	os.WriteFile(enc, []byte("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\neyJrZGYiOnsibmFtZSI6InNjcnlwdCIsInBhcmFtcyI6eyJOIjozMjc2OCwiciI6OCwicCI6MX0sInNhbHQiOiIifSwiY2lwaGVyIjp7Im5hbWUiOiJuYWNsL3NlY3JldGJveCIsIm5vbmNlIjoiQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUEifSwiY2lwaGVydGV4dCI6IiJ9\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n"), 0o600)
	ref := "127.0.0.1:1/x:1"
	for _, tc := range []struct {
		argv []string
		want string
	}{
		{[]string{"push", "--sign-key", filepath.Join(keys, "missing.pem"), img, ref}, "push: --sign-key: key " + filepath.Join(keys, "missing.pem") + ": cannot be read"},
		{[]string{"push", "--sign-key", pub, img, ref}, "is a public key: signing needs the private key"},
		{[]string{"push", "--sign-key", enc, img, ref}, "give its password (COSIGN_PASSWORD)"},
		{[]string{"push", "--sign-key", key, "--sbom", notSPDX, img, ref}, `push: --sbom: reading the SBOM ` + notSPDX + `: spdxVersion = "": not an SPDX JSON document`},
		{[]string{"verify", ref}, "verify: --key is required"},
		{[]string{"verify", "--key", key, ref}, "never the private one"},
		{[]string{"verify", "--key", pub, "Not A Ref"}, "not a valid image reference"},
		{[]string{"build", "-f", filepath.Join(dir, "args.json"), "-o", img, "--sbom", img}, "is where the image goes (-o): give --sbom another path"},
		{[]string{"build", "-f", filepath.Join(dir, "args.json"), "-o", img, "--sbom", filepath.Join(dir, "kernel")}, "which the build reads: writing the SBOM there would destroy it; give --sbom another path"},
		{[]string{"build", "-f", filepath.Join(dir, "args.json"), "-o", img, "--sbom", "-"}, "the SBOM goes to a file, not standard output"},
		{[]string{"build", "-f", filepath.Join(dir, "args.json"), "-o", img, "--sbom", ""}, `build: --sbom "": give the SBOM's file name`},
	} {
		code, _, stderr := cli(t, nil, tc.argv...)
		if code != exitBadInput || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tc.argv, code, stderr, exitBadInput, tc.want)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "kernel")); !strings.HasPrefix(string(b), "\x7fELF") {
		t.Error("build --sbom overwrote a source")
	}
}

// TestVerifyUnsigned: an image pushed without --sign-key has no
// signature: verify fails (exit 1) and says so, naming the digest.
func TestVerifyUnsigned(t *testing.T) {
	reg := testenv.Registry(t)
	dir := project(t)
	_, pub := pkcs8Key(t, t.TempDir(), "k")
	img := filepath.Join(t.TempDir(), "image.tar")
	if code, _, stderr := cli(t, nil, "build", "-f", filepath.Join(dir, "args.json"), "-o", img); code != 0 {
		t.Fatalf("build: exit %d\n%s", code, stderr)
	}
	ref := reg.Addr + "/x:1"
	code, stdout, stderr := cli(t, nil, "push", img, ref)
	if code != 0 {
		t.Fatalf("push: exit %d\n%s", code, stderr)
	}
	digest := strings.TrimSpace(stdout)[strings.Index(stdout, "@")+1:]
	code, _, stderr = cli(t, nil, "verify", "--key", pub, ref)
	if code != exitFailure || !strings.Contains(stderr, "no signature for "+digest) || !strings.Contains(stderr, "pushed unsigned, or changed since it was signed") {
		t.Errorf("verify: exit %d, %q", code, stderr)
	}
	if code, _, stderr = cli(t, nil, "verify", "--key", pub, reg.Addr+"/nothing:1"); code != exitBadInput {
		t.Errorf("verify of no image: exit %d, %q", code, stderr)
	}
}

// TestBuildSBOMStream: with -o -, the SBOM is that of the bytes streamed,
// the same as with -o FILE, and it follows SOURCE_DATE_EPOCH.
func TestBuildSBOMStream(t *testing.T) {
	dir := project(t)
	out := t.TempDir()
	env := map[string]string{"SOURCE_DATE_EPOCH": "1700000000"}
	code, _, stderr := cli(t, env, "build", "-f", filepath.Join(dir, "args.json"), "-o", filepath.Join(out, "image.tar"), "--sbom", filepath.Join(out, "file.json"))
	if code != 0 {
		t.Fatalf("build: exit %d\n%s", code, stderr)
	}
	code, stdout, stderr := cli(t, env, "build", "-f", filepath.Join(dir, "args.json"), "-o", "-", "--sbom", filepath.Join(out, "stream.json"))
	if code != 0 {
		t.Fatalf("build -o -: exit %d\n%s", code, stderr)
	}
	if tarFile, _ := os.ReadFile(filepath.Join(out, "image.tar")); stdout != string(tarFile) {
		t.Error("-o - and -o FILE wrote different images")
	}
	a, _ := os.ReadFile(filepath.Join(out, "file.json"))
	b, _ := os.ReadFile(filepath.Join(out, "stream.json"))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Errorf("the SBOMs differ:\n%s\n%s", a, b)
	}
	if !bytes.Contains(a, []byte(`"created": "2023-11-14T22:13:20Z"`)) {
		t.Errorf("the SBOM does not have SOURCE_DATE_EPOCH's time:\n%.400s", a)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 3 {
		t.Errorf("left behind: %v", entries)
	}
}
