package filekind

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestReadRegular: a regular file is read; at the cap it is read, past it
// the error wraps ErrTooLarge; a FIFO (at once, without a writer), a
// directory and a device are each a *NotRegularError with their mode; a
// missing file is fs.ErrNotExist.
func TestReadRegular(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	os.WriteFile(file, []byte("0123"), 0o644)
	if data, err := ReadRegular(file, 4); err != nil || string(data) != "0123" {
		t.Errorf("ReadRegular(4 bytes, cap 4) = %q, %v", data, err)
	}
	if _, err := ReadRegular(file, 3); !errors.Is(err, ErrTooLarge) {
		t.Errorf("ReadRegular(4 bytes, cap 3) = %v", err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := ReadRegular(fifo, 10); done <- err }()
	select {
	case err := <-done:
		var nr *NotRegularError
		if !errors.As(err, &nr) || nr.Mode&fs.ModeNamedPipe == 0 || nr.Error() != fifo+" is a named pipe (FIFO), not a regular file" {
			t.Errorf("FIFO: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadRegular blocks on a FIFO")
	}
	for _, p := range []string{dir, "/dev/zero"} {
		var nr *NotRegularError
		if _, err := ReadRegular(p, 10); !errors.As(err, &nr) {
			t.Errorf("%s: %v", p, err)
		}
	}
	if _, _, err := OpenRegular(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
}
