package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
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
