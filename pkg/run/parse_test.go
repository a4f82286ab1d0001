package run_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/nubificus/bunix/pkg/run"
)

// TestParseMemory: -m takes docker run's sizes (a unit, which b or ib may
// follow), in MiB, between 16m and 1t; any other word is refused, not
// read as another size (before, "1mg" was 1g and "512gm" 512m).
func TestParseMemory(t *testing.T) {
	for s, want := range map[string]uint64{
		"512m": 512, "512M": 512, "512mb": 512, "512MiB": 512, "512 m": 512, " 1g\n": 1024, "1GB": 1024,
		"16777216": 16, "16777216b": 16, "16384k": 16, "1t": 1 << 20, "1024g": 1 << 20,
	} {
		if got, err := run.ParseMemory(s); err != nil || got != want {
			t.Errorf("ParseMemory(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "m", "512gm", "1mg", "1024mg", "5bbbbg", "512ib", "1.5g", "-1", "1e9", "512x", "2t", "1025g",
		"18446744073709551615", "99999999999999999999999g", "1k", "0"} {
		var ue *run.UsageError
		if got, err := run.ParseMemory(s); !errors.As(err, &ue) {
			t.Errorf("ParseMemory(%q) = %d, %v; want a *UsageError", s, got, err)
		}
	}
}

// TestReadEnvFile: an env file is read from a file or a pipe, up to
// run.MaxEnvFile bytes; /dev/zero is an error, not all of memory; a pipe
// no one writes to is left when the context ends (a signal).
func TestReadEnvFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	go func() {
		if f, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			f.WriteString("A=1\n")
			f.Close()
		}
	}()
	if data, err := run.ReadEnvFile(context.Background(), fifo); err != nil || string(data) != "A=1\n" {
		t.Errorf("a pipe: %q, %v", data, err)
	}
	if data, err := run.ReadEnvFile(context.Background(), "/dev/zero"); err == nil || !strings.Contains(err.Error(), "more than 1 MiB") {
		t.Errorf("/dev/zero: %d bytes, %v", len(data), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := syscall.Mkfifo(fifo+"2", 0o600); err != nil {
		t.Fatal(err)
	}
	if data, err := run.ReadEnvFile(ctx, fifo+"2"); !errors.Is(err, context.Canceled) {
		t.Errorf("a pipe no one writes to, context cancelled: %q, %v", data, err)
	}
}
