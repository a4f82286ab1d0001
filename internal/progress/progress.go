// Package progress draws a progress bar for long writes on a terminal.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Writer counts the bytes written through it and, once a write has taken
// longer than Delay, redraws a one-line bar on Term at most every Interval.
// Done clears the line. A Writer with a nil Term only counts.
type Writer struct {
	W     io.Writer
	Term  io.Writer
	Total int64
	Label string

	Delay, Interval time.Duration
	Now             func() time.Time

	mu      sync.Mutex
	n       int64
	start   time.Time
	last    time.Time
	visible bool
}

// New returns a Writer to w that shows progress towards total bytes on
// term, after one second, ten times a second.
func New(w, term io.Writer, total int64, label string) *Writer {
	return &Writer{W: w, Term: term, Total: total, Label: label, Delay: time.Second, Interval: 100 * time.Millisecond, Now: time.Now}
}

func (p *Writer) Write(b []byte) (int, error) {
	n, err := p.W.Write(b)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n += int64(n)
	if p.Term == nil {
		return n, err
	}
	now := p.Now()
	if p.start.IsZero() {
		p.start = now
	}
	if now.Sub(p.start) >= p.Delay && now.Sub(p.last) >= p.Interval {
		p.last = now
		p.draw(now)
	}
	return n, err
}

func (p *Writer) draw(now time.Time) {
	const width = 30
	frac := 1.0
	if p.Total > 0 && p.n < p.Total {
		frac = float64(p.n) / float64(p.Total)
	}
	full := int(frac * width)
	rate := float64(p.n) / now.Sub(p.start).Seconds() / (1 << 20)
	fmt.Fprintf(p.Term, "\r%s [%s%s] %3.0f%% %s of %s, %.0f MiB/s", p.Label,
		strings.Repeat("=", full), strings.Repeat(" ", width-full), frac*100, size(p.n), size(p.Total), rate)
	p.visible = true
}

// Done clears the bar if one was drawn.
func (p *Writer) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.visible {
		fmt.Fprint(p.Term, "\r\x1b[K")
		p.visible = false
	}
}

func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// Bar returns what build.WithProgress takes, wrap, which puts a Writer in
// front of the output that draws on term a bar labelled label; and done,
// which clears the bar once the write is over. With a nil term, wrap is
// nil: no bar.
func Bar(term io.Writer, label string) (wrap func(total int64, w io.Writer) io.Writer, done func()) {
	if term == nil {
		return nil, func() {}
	}
	var bar *Writer
	wrap = func(total int64, w io.Writer) io.Writer {
		bar = New(w, term, total, label)
		return bar
	}
	return wrap, func() {
		if bar != nil {
			bar.Done()
		}
	}
}

// Terminal returns stderr when both stdout and stderr are terminals, as a
// progress bar wants, else nil.
func Terminal(stdout, stderr io.Writer) io.Writer {
	o, ok1 := stdout.(*os.File)
	e, ok2 := stderr.(*os.File)
	if ok1 && ok2 && IsTerminal(o) && IsTerminal(e) {
		return stderr
	}
	return nil
}

// IsTerminal reports whether f is a terminal.
func IsTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
