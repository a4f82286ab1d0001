package image

import "testing"

// TestContainerdName: index.json names an image for containerd the way
// containerd's own export does.
func TestContainerdName(t *testing.T) {
	for in, want := range map[string]string{
		"hello:latest":                     "docker.io/library/hello:latest",
		"urunc/hello:t1":                   "docker.io/urunc/hello:t1",
		"docker.io/urunc/hello:t1":         "docker.io/urunc/hello:t1",
		"index.docker.io/library/x:y":      "docker.io/library/x:y",
		"localhost:5000/a/b:c":             "localhost:5000/a/b:c",
		"registry.example.com/team/app:v1": "registry.example.com/team/app:v1",
	} {
		if got := containerdName(in); got != want {
			t.Errorf("containerdName(%q) = %q, want %q", in, got, want)
		}
	}
}
