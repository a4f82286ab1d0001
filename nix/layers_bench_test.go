package nix_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nubificus/bunix/internal/testenv"
)

// BenchmarkDockerLoad loads an image with a 256 MiB kernel into a private
// dockerd two ways: `./result | docker load` from streamImage, and `docker
// load < result` from buildImage's docker-archive. Both builds happen
// before the timer starts.
//
//	go test -run '^$' -bench DockerLoad -benchtime 3x ./nix/
func BenchmarkDockerLoad(b *testing.B) {
	dir := layeredDir(b, 256<<20, "bench\n")
	_, expr := layeredExpr(b, dir, "bunix/load", "")
	stream := filepath.Join(b.TempDir(), "stream.nix")
	src, err := os.ReadFile(expr)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(stream, []byte(strings.Replace(string(src), ").buildImage", ").streamImage", 1)), 0o644); err != nil {
		b.Fatal(err)
	}
	archive, stderr, err := testenv.NixBuild(b, "", expr)
	if err != nil {
		b.Fatalf("%v\n%s", err, stderr)
	}
	script, stderr, err := testenv.NixBuild(b, "", stream)
	if err != nil {
		b.Fatalf("%v\n%s", err, stderr)
	}
	d := docker.Get(b)
	dockerBin := testenv.Require(b, "docker")
	load := func(b *testing.B, shell string) {
		for range b.N {
			cmd := exec.Command("sh", "-c", shell)
			cmd.Env = d.Env()
			if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "Loaded image") {
				b.Fatalf("%s: %v\n%s", shell, err, out)
			}
			b.StopTimer()
			if _, err := d.Run(b, "rmi", "bunix/load:latest"); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	}
	b.Run("streamImage", func(b *testing.B) { load(b, script+" | "+dockerBin+" load") })
	b.Run("docker-archive", func(b *testing.B) { load(b, dockerBin+" load < "+archive) })
}
