package nix_test

import (
	"os/exec"
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
	archive, script, _ := buildAndStream(b, expr)
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
