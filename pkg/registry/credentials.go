package registry

import "github.com/google/go-containerregistry/pkg/authn"

// WithCredentials has every registry get username and password, in place
// of the keychain's credentials: what a sandboxed pull (nix-pull) is given
// through its environment.
func WithCredentials(username, password string) Option {
	return WithKeychain(staticKeychain{authn.FromConfig(authn.AuthConfig{Username: username, Password: password})})
}

// staticKeychain gives the same credentials for every registry.
type staticKeychain struct{ auth authn.Authenticator }

func (k staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) { return k.auth, nil }
