package msgraph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/collect-ediscovery/collect/internal/clock"
	abs "github.com/microsoft/kiota-abstractions-go"

	"github.com/collect-ediscovery/collect/graph"
	"golang.org/x/oauth2"
)

// tokenCache holds the current access token and refreshes it shortly
// before it expires, or on demand after Graph rejected it.
type tokenCache struct {
	src   oauth2.TokenSource
	clock clock.Clock

	mu  sync.Mutex
	tok *oauth2.Token
}

// refreshMargin is how long before expiry a token is replaced.
const refreshMargin = 2 * time.Minute

func (c *tokenCache) token(ctx context.Context) (*oauth2.Token, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok != nil && c.tok.AccessToken != "" &&
		(c.tok.Expiry.IsZero() || c.clock.Now().Add(refreshMargin).Before(c.tok.Expiry)) {
		return c.tok, nil
	}
	return c.fetchLocked(ctx)
}

// refresh drops the token stale (if it is still the current one) and gets a
// new one; concurrent callers that saw the same stale token share one fetch.
func (c *tokenCache) refresh(ctx context.Context, stale string) (*oauth2.Token, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok != nil && c.tok.AccessToken != stale && c.tok.AccessToken != "" {
		return c.tok, nil
	}
	return c.fetchLocked(ctx)
}

// tokenAttempts bounds the tries of the token endpoint when it fails
// transiently (5xx, 429, a cut connection).
const tokenAttempts = 4

func (c *tokenCache) fetchLocked(ctx context.Context) (*oauth2.Token, error) {
	var tok *oauth2.Token
	var err error
	for attempt := 1; ; attempt++ {
		tok, err = c.src.Token()
		if err == nil || attempt == tokenAttempts || !graph.KindOf(err).Retryable() {
			break
		}
		wait := time.Duration(attempt) * time.Second
		var ge *graph.Error
		if errors.As(err, &ge) && ge.RetryAfter > 0 {
			wait = ge.RetryAfter
		}
		select {
		case <-ctx.Done():
			return nil, &graph.Error{Op: "get token", Kind: graph.KindCanceled, Err: ctx.Err()}
		case <-c.clock.After(wait):
		}
	}
	if err != nil {
		c.tok = nil
		var ge *graph.Error
		if errors.As(err, &ge) {
			return nil, err
		}
		return nil, &graph.Error{Op: "get token", Kind: graph.KindAccessDenied, Err: err}
	}
	if tok == nil || tok.AccessToken == "" {
		return nil, &graph.Error{Op: "get token", Kind: graph.KindAccessDenied, Message: "the token endpoint returned no access token"}
	}
	c.tok = tok
	return tok, nil
}

// authProvider puts the bearer token on every request kiota builds, and
// refuses to send it anywhere but the configured Graph endpoint (a nextLink
// or a stored cursor pointing elsewhere never receives the token).
type authProvider struct {
	tokens *tokenCache
	base   *url.URL
}

func (a *authProvider) AuthenticateRequest(ctx context.Context, req *abs.RequestInformation, _ map[string]any) error {
	u, err := req.GetUri()
	if err != nil {
		return err
	}
	bearer, err := a.bearer(ctx, u)
	if err != nil {
		return err
	}
	req.Headers.TryAdd("Authorization", bearer)
	return nil
}

// authorize puts the bearer token on a request collect builds itself.
func (a *authProvider) authorize(ctx context.Context, req *http.Request) error {
	bearer, err := a.bearer(ctx, req.URL)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", bearer)
	return nil
}

// bearer is the Authorization value for a request to u, which must be on
// the configured Graph endpoint.
func (a *authProvider) bearer(ctx context.Context, u *url.URL) (string, error) {
	if !strings.EqualFold(u.Scheme, a.base.Scheme) || !strings.EqualFold(u.Host, a.base.Host) {
		return "", &graph.Error{Op: "authorize request", Kind: graph.KindOther,
			Message: fmt.Sprintf("refusing to send credentials to %s://%s: it is not the configured Graph endpoint %s", u.Scheme, u.Host, a.base.String())}
	}
	tok, err := a.tokens.token(ctx)
	if err != nil {
		return "", err
	}
	return "Bearer " + tok.AccessToken, nil
}

// reauthorize is the transport's hook after a 401: a copy of req with a
// token other than the one Graph refused.
func (a *authProvider) reauthorize(req *http.Request) (*http.Request, error) {
	stale := strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer ")
	tok, err := a.tokens.refresh(req.Context(), stale)
	if err != nil {
		return nil, err
	}
	next := req.Clone(req.Context())
	next.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	return next, nil
}
