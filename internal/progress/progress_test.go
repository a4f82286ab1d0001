package progress

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestWriter(t *testing.T) {
	var out, term bytes.Buffer
	clock := time.Unix(0, 0)
	p := New(&out, &term, 4<<20, "writing image.tar")
	p.Now = func() time.Time { return clock }
	chunk := make([]byte, 1<<20)
	p.Write(chunk)
	clock = clock.Add(500 * time.Millisecond)
	p.Write(chunk)
	if term.Len() != 0 {
		t.Fatalf("drew before one second: %q", term.String())
	}
	clock = clock.Add(600 * time.Millisecond)
	p.Write(chunk)
	if got := term.String(); !strings.Contains(got, "writing image.tar [======================        ]  75% 3.0 MiB of 4.0 MiB") {
		t.Errorf("bar %q", got)
	}
	clock = clock.Add(10 * time.Millisecond)
	before := term.Len()
	p.Write(chunk)
	if term.Len() != before {
		t.Error("redrew within the interval")
	}
	p.Done()
	if !strings.HasSuffix(term.String(), "\r\x1b[K") || out.Len() != 4<<20 {
		t.Errorf("done: %q, %d bytes through", term.String()[before:], out.Len())
	}
}

func TestWriterWithoutTerminal(t *testing.T) {
	var out bytes.Buffer
	p := New(&out, nil, 10, "x")
	p.Write([]byte("0123456789"))
	p.Done()
	if out.String() != "0123456789" {
		t.Errorf("out %q", out.String())
	}
}

// pty opens the two ends of a real pseudo-terminal.
func pty(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

// TestTerminal: a bar only when stdout and stderr are both terminals, and
// then on stderr.
func TestTerminal(t *testing.T) {
	_, tty := pty(t)
	file, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	if got := Terminal(tty, tty); got != tty {
		t.Errorf("Terminal(tty, tty) = %v", got)
	}
	for _, tc := range [][2]io.Writer{{file, tty}, {tty, file}, {&bytes.Buffer{}, tty}} {
		if got := Terminal(tc[0], tc[1]); got != nil {
			t.Errorf("Terminal(%T, %T) = %v, want nil", tc[0], tc[1], got)
		}
	}
	if IsTerminal(file) || !IsTerminal(tty) {
		t.Error("IsTerminal is wrong about a file or a terminal")
	}
}

// TestBar: no term, no wrap; with one, the wrapped writer passes the bytes
// and done clears the line.
func TestBar(t *testing.T) {
	if wrap, done := Bar(nil, "x"); wrap != nil {
		t.Error("Bar(nil) wraps")
	} else {
		done()
	}
	var out, term bytes.Buffer
	wrap, done := Bar(&term, "writing x")
	done() // before any write: nothing to clear
	w := wrap(3, &out)
	w.(*Writer).Delay = 0
	io.WriteString(w, "abc")
	done()
	if out.String() != "abc" || !strings.Contains(term.String(), "writing x") || !strings.HasSuffix(term.String(), "\r\x1b[K") {
		t.Errorf("out %q, term %q", out.String(), term.String())
	}
}
