package msgraph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/collect-ediscovery/collect/graph"
	abs "github.com/microsoft/kiota-abstractions-go"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// GraphScope is the scope an app asks for to use its Graph application permissions.
const GraphScope = "https://graph.microsoft.com/.default"

// DefaultLoginURL is the Entra ID authority of the global cloud.
const DefaultLoginURL = "https://login.microsoftonline.com"

// ClientCredentials returns a token source for an app registration that
// authenticates with a client secret: each call to Token posts a
// client_credentials grant to {loginURL}/{tenant}/oauth2/v2.0/token. It does
// not cache; the Client caches and refreshes. loginURL "" means
// DefaultLoginURL; plain http is accepted only for a loopback host (the
// simulator). Token endpoint failures are *graph.Error values with Op "get
// token", the AADSTS code as Code and the trace ID as RequestID; the secret
// never appears in them.
func ClientCredentials(loginURL, tenant, clientID, secret string, httpClient *http.Client) (oauth2.TokenSource, error) {
	return ClientSecret(Authority{LoginURL: loginURL, Tenant: tenant, ClientID: clientID, HTTPClient: httpClient}, secret)
}

// ClientSecret is ClientCredentials for any cloud: the scope asked is the
// authority's Resource + "/.default".
func ClientSecret(a Authority, secret string) (oauth2.TokenSource, error) {
	a, err := a.check()
	if err != nil {
		return nil, err
	}
	if secret == "" {
		return nil, errors.New("client credentials need a tenant, a client ID and a secret")
	}
	cfg := &clientcredentials.Config{
		ClientID:     a.ClientID,
		ClientSecret: secret,
		TokenURL:     a.TokenURL(),
		Scopes:       []string{a.AppScope()},
		AuthStyle:    oauth2.AuthStyleInParams,
	}
	return &secretTokens{cfg: cfg, a: a, secret: secret}, nil
}

type secretTokens struct {
	cfg    *clientcredentials.Config
	a      Authority
	secret string
}

func (s *secretTokens) Token() (*oauth2.Token, error) {
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, s.a.HTTPClient)
	tok, err := s.cfg.Token(ctx)
	if err != nil {
		return nil, s.a.signInError(err, s.secret)
	}
	return tok, nil
}

var aadstsCode = regexp.MustCompile(`AADSTS\d+`)

// tokenError turns a token endpoint failure into a *graph.Error that keeps
// what support needs (AADSTS code, trace ID) and scrubs the secret from
// anything it carries.
func tokenError(err error, secrets ...string) error {
	scrub := func(s string) string {
		for _, secret := range secrets {
			if secret != "" {
				s = strings.ReplaceAll(s, secret, "[secret]")
			}
		}
		return s
	}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		kind := graph.TransportErrorKind(err)
		if kind == graph.KindOther {
			kind = graph.KindTransient
		}
		return &graph.Error{Op: "get token", Kind: kind, Message: scrub(err.Error())}
	}
	e := &graph.Error{Op: "get token", Kind: graph.KindAccessDenied}
	if re.Response != nil {
		e.Status = re.Response.StatusCode
		if ra, ok := graph.ParseRetryAfter(re.Response.Header.Get("Retry-After"), time.Now()); ok {
			e.RetryAfter = ra
		}
		switch {
		case e.Status == http.StatusTooManyRequests:
			e.Kind = graph.KindThrottled
		case e.Status >= 500:
			e.Kind = graph.KindTransient
		}
	}
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		ErrorCodes  []int  `json:"error_codes"`
		TraceID     string `json:"trace_id"`
	}
	_ = json.Unmarshal(re.Body, &body)
	desc := re.ErrorDescription
	if desc == "" {
		desc = body.Description
	}
	if len(body.ErrorCodes) > 0 {
		e.Code = "AADSTS" + strconv.Itoa(body.ErrorCodes[0])
	} else if m := aadstsCode.FindString(desc); m != "" {
		e.Code = m
	} else {
		e.Code = re.ErrorCode
	}
	e.RequestID = body.TraceID
	// Entra appends trace, correlation and timestamp lines to the
	// description; the first line is the part a person reads.
	if i := strings.IndexAny(desc, "\r\n"); i >= 0 {
		desc = desc[:i]
	}
	if desc == "" {
		desc = re.ErrorCode
	}
	if desc == "" && re.Response != nil {
		desc = re.Response.Status
	}
	e.Message = scrub(strings.TrimSpace(desc))
	return e
}

// tokenCache holds the current access token and refreshes it shortly
// before it expires, or on demand after Graph rejected it.
type tokenCache struct {
	src   oauth2.TokenSource
	clock graph.Clock

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
	if !strings.EqualFold(u.Scheme, a.base.Scheme) || !strings.EqualFold(u.Host, a.base.Host) {
		return &graph.Error{Op: "authorize request", Kind: graph.KindOther,
			Message: fmt.Sprintf("refusing to send credentials to %s://%s: it is not the configured Graph endpoint %s", u.Scheme, u.Host, a.base.String())}
	}
	tok, err := a.tokens.token(ctx)
	if err != nil {
		return err
	}
	req.Headers.TryAdd("Authorization", "Bearer "+tok.AccessToken)
	return nil
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

// checkEndpoint accepts https URLs, and plain http only on a loopback host.
func checkEndpoint(raw, what string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("%s %q is not an absolute URL", what, raw)
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return nil, fmt.Errorf("%s %q uses plain http: only https is allowed, except on a loopback address for the simulator", what, raw)
		}
	default:
		return nil, fmt.Errorf("%s %q: scheme must be https", what, raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("%s %q must not carry a query, fragment or user info", what, raw)
	}
	return u, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
