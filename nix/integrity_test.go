package nix_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/nubificus/bunix/internal/testenv"
	"github.com/nubificus/bunix/pkg/image"
	"github.com/nubificus/bunix/pkg/sbom"
	"github.com/nubificus/bunix/pkg/sign"
	"github.com/spdx/tools-golang/spdx/v2/common"
)

// TestSBOMOutput: buildImage's second output, sbom, is the SPDX document
// of the image in out: tools-golang reads and validates it, its files'
// checksums are those of the image's layers, each store path the image
// copies from is a package containing the files copied, `-A all` builds
// both outputs, and a rebuild (--check) gives the same bytes.
func TestSBOMOutput(t *testing.T) {
	root := testenv.ModuleRoot(t)
	base := []string{filepath.Join(root, "default.nix"), "--arg", "bunix", testenv.Bunix(t)}
	all, stderr, err := testenv.NixBuild(t, root, append(base, "-A", "all")...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	paths := strings.Fields(all)
	if len(paths) != 2 || !strings.HasSuffix(paths[0], "-bunix-hello-latest.tar") || !strings.HasSuffix(paths[1], "-bunix-hello-latest.tar-sbom") {
		t.Fatalf("-A all built %q, want the image and its sbom", paths)
	}
	img, doc := paths[0], testenv.ReadFile(t, paths[1])
	d, files := testenv.ReadSPDX(t, doc)
	if d.DocumentName != "bunix/hello:latest" || d.CreationInfo.Created != "1970-01-01T00:00:01Z" {
		t.Errorf("document %q created %q", d.DocumentName, d.CreationInfo.Created)
	}
	ids := map[common.ElementID]string{}
	for _, f := range d.Files {
		ids[f.FileSPDXIdentifier] = f.FileName
	}
	f, err := image.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	layers, err := f.Images[0].Layers()
	if err != nil {
		t.Fatal(err)
	}
	testenv.CheckSBOMFiles(t, files, layers, 3)
	var kernelFrom string
	for _, p := range d.Packages {
		if !strings.HasPrefix(p.PackageFileName, "/nix/store/") {
			continue
		}
		for _, r := range d.Relationships {
			if r.RefA.ElementRefID == p.PackageSPDXIdentifier && r.Relationship == "CONTAINS" && ids[r.RefB.ElementRefID] == "./unikernel/kernel" {
				kernelFrom = p.PackageFileName
			}
		}
	}
	if !strings.HasSuffix(kernelFrom, "-kernel") {
		t.Errorf("no store path package contains ./unikernel/kernel (got %q)", kernelFrom)
	}
	if _, stderr, err := testenv.NixBuild(t, root, append(base, "-A", "sbom", "--check")...); err != nil {
		t.Errorf("nix-build --check of the sbom: %v\n%s", err, stderr)
	}
}

// TestPushScriptSignKey: lib.pushScript signs with a key named by a string
// path, and no output of it, nor any derivation it is built from, holds
// the key: the script names the path only. Run against a real registry,
// it pushes the image, attaches image.sbom, and signs: the real cosign
// and bunix verify accept the signature. A Nix path value is refused before
// anything is copied to the store.
func TestPushScriptSignKey(t *testing.T) {
	root := testenv.ModuleRoot(t)
	reg := testenv.Registry(t)
	keyDir := t.TempDir()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	keyName := fmt.Sprintf("bunix-test-key-%x.pem", der[len(der)-8:])
	key := filepath.Join(keyDir, keyName)
	os.WriteFile(key, keyPEM, 0o600)
	pubPEM, _ := sign.MarshalPublicKey(&k.PublicKey)
	pub := filepath.Join(keyDir, "key.pub")
	os.WriteFile(pub, pubPEM, 0o644)

	ref := reg.Addr + "/urunc/hello:signed"
	expr := func(signKey string) string {
		return fmt.Sprintf(`let lib = import %s/nix/lib.nix; image = import %s/default.nix { bunix = %s; }; in lib.pushScript {
  inherit image; ref = %q; bunix = %s; signKey = %s; sbom = image.sbom; }`, root, root, testenv.Bunix(t), ref, testenv.Bunix(t), signKey)
	}

	// A path value: refused, and the key is not copied to the store.
	_, stderr, err := testenv.NixInstantiate(t, root, "--expr", expr(key))
	if err == nil || !strings.Contains(stderr, "signKey: a Nix path value ("+key+") would copy the private key into the Nix store") {
		t.Errorf("signKey as a path: %v\n%s", err, stderr)
	}
	for _, bad := range []string{`"relative/key.pem"`, `"/nix/store/00000000000000000000000000000000-key.pem"`, `42`} {
		if _, stderr, err := testenv.NixInstantiate(t, root, "--expr", expr(bad)); err == nil || !strings.Contains(stderr, "signKey: ") {
			t.Errorf("signKey = %s: %v\n%s", bad, err, stderr)
		}
	}

	e := expr(fmt.Sprintf("%q", key))
	script, stderr, err := testenv.NixBuild(t, root, "--expr", e)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if matches, _ := filepath.Glob("/nix/store/*" + keyName + "*"); len(matches) != 0 {
		t.Errorf("the key entered the store: %v", matches)
	}
	// Every output and every input of the script's build, derivations
	// included: none holds the key, in PEM or DER.
	drv, stderr, err := testenv.NixInstantiate(t, root, "--expr", e)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	closure := storeClosure(t, drv, script)
	body := bytes.TrimSpace(keyPEM[bytes.IndexByte(keyPEM, '\n')+1 : bytes.LastIndex(bytes.TrimSpace(keyPEM), []byte("\n"))])
	for _, p := range closure {
		filepath.WalkDir(p, func(f string, de fs.DirEntry, err error) error {
			if err != nil || !de.Type().IsRegular() {
				return nil
			}
			b, err := os.ReadFile(f)
			if err == nil && (bytes.Contains(b, body[:40]) || bytes.Contains(b, der)) {
				t.Errorf("%s holds the private key", f)
			}
			return nil
		})
	}
	if len(closure) < 3 {
		t.Errorf("closure %v", closure)
	}
	if s := string(testenv.ReadFile(t, script)); !strings.Contains(s, "--sign-key '"+key+"'") || !strings.Contains(s, "--sbom '/nix/store/") {
		t.Errorf("the script:\n%s", s)
	}

	out, err := exec.Command(script).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	code, stdout, stderr := runBunix(t, root, nil, "verify", "--key", pub, ref)
	if code != 0 || !strings.Contains(string(out), strings.TrimSpace(stdout)) {
		t.Errorf("bunix verify: exit %d %q %s; the script printed %s", code, stdout, stderr, out)
	}
	cosign := exec.Command(testenv.Cosign(t), "verify", "--key", pub, "--insecure-ignore-tlog=true", "--allow-http-registry", ref)
	cosign.Env = append(os.Environ(), "HOME="+t.TempDir(), "TUF_ROOT="+t.TempDir())
	if cout, err := cosign.CombinedOutput(); err != nil {
		t.Errorf("cosign verify: %v\n%s", err, cout)
	}
	d, err := name.NewDigest(strings.TrimSpace(stdout))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Referrers(d)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	if len(im.Manifests) != 1 || im.Manifests[0].ArtifactType != sbom.MediaType {
		t.Errorf("referrers %+v", im.Manifests)
	}
}

// storeClosure returns the store paths drv and out need: every input and
// output of the derivation's build, the derivation files included.
func storeClosure(t *testing.T, drv, out string) []string {
	t.Helper()
	var paths []string
	for _, args := range [][]string{{"-qR", "--include-outputs", drv}, {"-qR", out}} {
		b, err := exec.Command(testenv.Require(t, "nix-store"), args...).Output()
		if err != nil {
			t.Fatalf("nix-store %v: %v", args, err)
		}
		paths = append(paths, strings.Fields(string(b))...)
	}
	return paths
}
