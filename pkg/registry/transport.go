package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"time"

	"github.com/nubificus/bunix/internal/msg"
)

// DefaultTimeout is how long a registry may keep bunix waiting for a byte:
// for the first byte of an answer, for the next byte of a body, or to take
// the next piece of an upload. WithTimeout changes it.
const DefaultTimeout = 60 * time.Second

// MaxRedirects is how many redirects one request may meet: the last is
// refused, as net/http's default client refuses it (go-containerregistry's
// own redirect checks set no limit).
const MaxRedirects = 10

// StallError is a registry that kept bunix waiting longer than the
// timeout: it did not answer, stopped sending, or stopped taking an
// upload. It is a failure, not the user's input.
type StallError struct {
	// Registry is the host that stalled.
	Registry string
	// What is what was being done: "waiting for an answer to GET the
	// manifest 1.0 of urunc/redis", "reading the blob sha256:... of ...".
	What    string
	Timeout time.Duration
}

func (e *StallError) Error() string {
	return fmt.Sprintf("registry %s sent nothing for %s while %s (%s changes the limit)", e.Registry, seconds(e.Timeout), e.What, TimeoutEnv)
}

// seconds shows d as a number of seconds when it is a whole one ("60s",
// "600s"), else as Go does ("1.5s", "300ms").
func seconds(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return d.String()
}

// ErrRedirectLoop is the error (wrapped) of a request redirected more than
// MaxRedirects times.
var ErrRedirectLoop = errors.New("redirects in a loop")

// guard is the one rule every request bunix makes to a registry goes
// through, whatever transport carries it (makeOptions puts it around
// every one): a watchdog that cancels a request once the registry has
// kept it waiting longer than timeout for the answer, for the next byte
// of a body or to take the next piece of an upload, with a *StallError
// naming the registry and what was being read; and a redirect cap.
type guard struct {
	inner   http.RoundTripper
	timeout time.Duration
}

// RoundTrip sends req through the inner transport under the watchdog.
func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	what := describe(req)
	ctx, cancel := context.WithCancelCause(req.Context())
	w := &watchdog{registry: req.URL.Host, what: "waiting for an answer to " + what, timeout: g.timeout, cancel: cancel}
	w.timer = time.AfterFunc(g.timeout, w.fire)
	// The answer is due from when the whole request is sent, as with
	// http.Transport's ResponseHeaderTimeout.
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { w.restart(true) }})
	r := req.Clone(ctx)
	if req.Body != nil && req.Body != http.NoBody {
		// Each piece the transport takes of an upload shows that the
		// registry is taking it: the clock starts again.
		r.Body = &uploadBody{ReadCloser: req.Body, w: w}
		if req.GetBody != nil {
			r.GetBody = func() (io.ReadCloser, error) {
				b, err := req.GetBody()
				if err != nil || b == http.NoBody {
					return b, err
				}
				return &uploadBody{ReadCloser: b, w: w}, nil
			}
		}
	}
	resp, err := g.inner.RoundTrip(r)
	if stall := w.pause("reading " + what); stall != nil {
		if err == nil {
			resp.Body.Close()
		}
		cancel(nil)
		return nil, stall
	}
	if err != nil {
		cancel(nil)
		return nil, err
	}
	// Refused at the answer, before any client's own redirect check
	// (go-containerregistry's follow same-host redirects for ever).
	if isRedirect(resp) && redirects(req)+1 >= MaxRedirects {
		resp.Body.Close()
		cancel(nil)
		return nil, fmt.Errorf("registry %s %w: %d redirects for %s", req.URL.Host, ErrRedirectLoop, MaxRedirects, what)
	}
	resp.Body = &answerBody{ReadCloser: resp.Body, w: w}
	return resp, nil
}

// watchdog cancels a request, with a *StallError, once its timer fires.
type watchdog struct {
	registry string
	timeout  time.Duration
	cancel   context.CancelCauseFunc
	timer    *time.Timer

	mu    sync.Mutex
	what  string
	stall *StallError
	// answered is set once the answer's headers are in: an upload the
	// transport still sends then no longer moves the clock.
	answered bool
}

func (w *watchdog) fire() {
	w.mu.Lock()
	w.stall = &StallError{Registry: w.registry, What: w.what, Timeout: w.timeout}
	err := w.stall
	w.mu.Unlock()
	w.cancel(err)
}

// restart starts the clock again, unless it already ran out; upload says
// that a piece of the upload was taken, which counts only until the
// answer is in.
func (w *watchdog) restart(upload bool) {
	w.mu.Lock()
	if w.stall == nil && !(upload && w.answered) {
		w.timer.Reset(w.timeout)
	}
	w.mu.Unlock()
}

// pause stops the clock and returns the *StallError the request failed
// with when the clock ran out first, nil otherwise. Unless it is "", what
// is from now on what the request is doing: reading the answer.
func (w *watchdog) pause(what string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.timer.Stop()
	if w.stall != nil {
		return w.stall
	}
	if what != "" {
		w.what = what
		w.answered = true
	}
	return nil
}

// uploadBody is a request's body: every piece read restarts the clock.
type uploadBody struct {
	io.ReadCloser
	w *watchdog
}

func (b *uploadBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.w.restart(true)
	}
	return n, err
}

// answerBody is a response's body: the clock runs while a read waits for
// the registry, and only then, so a reader that pauses is not a stall.
type answerBody struct {
	io.ReadCloser
	w *watchdog
}

func (b *answerBody) Read(p []byte) (int, error) {
	b.w.restart(false)
	n, err := b.ReadCloser.Read(p)
	if stall := b.w.pause(""); stall != nil && err != nil {
		return n, stall
	}
	return n, err
}

func (b *answerBody) Close() error {
	b.w.pause("")
	err := b.ReadCloser.Close()
	b.w.cancel(nil)
	return err
}

// isRedirect reports whether resp sends its client elsewhere.
func isRedirect(resp *http.Response) bool {
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return resp.Header.Get("Location") != ""
	}
	return false
}

// redirects counts the redirects that led to req: net/http's client sets
// Response on a request it makes to follow one.
func redirects(req *http.Request) int {
	n := 0
	for r := req; r.Response != nil && r.Response.Request != nil && n <= MaxRedirects; r = r.Response.Request {
		n++
	}
	return n
}

// describe says what req asks a registry for, in words: the manifest or
// the blob of a repository, an upload, a token, or the API check.
func describe(req *http.Request) string {
	p := req.URL.Path
	method := req.Method
	if rest, ok := strings.CutPrefix(p, "/v2/"); ok {
		if rest == "" {
			return method + " /v2/ (the API check)"
		}
		for _, kind := range []string{"/manifests/", "/blobs/uploads/", "/blobs/"} {
			if i := strings.LastIndex(rest, kind); i > 0 {
				repo, id := rest[:i], rest[i+len(kind):]
				switch kind {
				case "/manifests/":
					return fmt.Sprintf("%s the manifest %s of %s", method, clip(id), clip(repo))
				case "/blobs/uploads/":
					return fmt.Sprintf("%s an upload to %s", method, clip(repo))
				default:
					return fmt.Sprintf("%s the blob %s of %s", method, clip(id), clip(repo))
				}
			}
		}
	}
	return method + " " + clip(req.URL.Redacted())
}

// clip cuts s, from a registry or a URL, by msg's rule.
func clip(s string) string { return msg.Cut(s, 120) }
