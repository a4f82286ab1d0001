// Package registry talks to image registries with go-containerregistry's
// remote package: Push sends an image file, Get fetches the images at a
// reference. Both take the same options, as crane's commands do. Every
// request goes through one guard (transport.go), whatever transport
// carries it: a registry that keeps bunix waiting longer than the timeout
// for a byte fails with a *StallError, a tenth redirect with
// ErrRedirectLoop. makeOptions is the one place that builds the
// transport; an option for it (a TLS setting, say) belongs there.
package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// ErrBadReference is the error (wrapped) for an image reference that does
// not parse: bad input.
var ErrBadReference = errors.New("not a valid image reference")

// Option configures Push and Get.
type Option func(*options)

type options struct {
	insecure  bool
	keychain  authn.Keychain
	transport http.RoundTripper
	timeout   time.Duration
}

// Insecure lets Push and Get talk plain HTTP to the registry.
func Insecure() Option { return func(o *options) { o.insecure = true } }

// WithKeychain sets where credentials come from; the default is the docker
// config (~/.docker/config.json, $DOCKER_CONFIG) and its credential helpers.
func WithKeychain(k authn.Keychain) Option { return func(o *options) { o.keychain = k } }

// WithTransport sets the HTTP transport, e.g. for a test registry. The
// timeouts and the redirect cap still apply: makeOptions wraps it.
func WithTransport(t http.RoundTripper) Option { return func(o *options) { o.transport = t } }

// WithTimeout sets how long a registry may keep bunix waiting for a byte
// (DefaultTimeout when not set, or not positive): for the answer to a
// request, for the next byte of a body, or to take the next piece of an
// upload. A registry that waits longer fails the request with a
// *StallError.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// makeOptions applies opts, and puts the guard (timeouts, redirect cap)
// around the transport: every request to a registry goes through it.
func makeOptions(opts []Option) options {
	o := options{keychain: authn.DefaultKeychain, transport: remote.DefaultTransport}
	for _, opt := range opts {
		opt(&o)
	}
	if o.timeout <= 0 {
		o.timeout = DefaultTimeout
	}
	o.transport = &guard{inner: o.transport, timeout: o.timeout}
	return o
}

func (o options) nameOptions() []name.Option {
	if o.insecure {
		return []name.Option{name.Insecure}
	}
	return nil
}

// tag parses ref, the target of a push: a tag, which may be implied.
func (o options) tag(ref string) (name.Tag, error) {
	tag, err := parseTag(ref, o.nameOptions()...)
	if err != nil {
		return name.Tag{}, fmt.Errorf("pushing to %q: %w: %v", ref, ErrBadReference, err)
	}
	return tag, nil
}

func (o options) remoteOptions(ctx context.Context) []remote.Option {
	return []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(o.keychain), remote.WithTransport(o.transport)}
}
