// Package msgraph is the graph.Source that talks to Microsoft Graph through
// msgraph-sdk-go and the kiota request adapter. It is the only package of
// collect that links the SDK. It puts the bearer tokens of an
// oauth2.TokenSource (graph/entra signs in and makes them) on its requests.
//
// Every request goes through one chain:
//
//	kiota request adapter (request builders, JSON parsing, auth provider)
//	  └ http.Client
//	     └ kiota pipeline: parameter-name decoding, collect headers
//	        (Prefer: IdType="ImmutableId", client-request-id, User-Agent)
//	        └ graph.Transport: per-mailbox limiter, retry policy, 401 refresh,
//	           classification of every status >= 400 into *graph.Error
//	           └ base RoundTripper (Config.HTTPClient's transport)
//
// kiota's own retry, redirect and compression handlers are not in the chain,
// so collect's retry policy is the only one.
package msgraph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"

	"github.com/collect-ediscovery/collect/graph"
	"github.com/collect-ediscovery/collect/internal/clock"
	"github.com/google/uuid"
	absser "github.com/microsoft/kiota-abstractions-go/serialization"
	khttp "github.com/microsoft/kiota-http-go"
	jsonserialization "github.com/microsoft/kiota-serialization-json-go"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
	"golang.org/x/oauth2"
)

// DefaultBaseURL is the Graph root of the global cloud, without the version.
const DefaultBaseURL = "https://graph.microsoft.com"

// Config configures a Client. Tokens is required.
type Config struct {
	// BaseURL is the Graph root without "/v1.0": DefaultBaseURL when empty,
	// a national cloud's root, or the simulator's. Plain http is accepted
	// only for a loopback host.
	BaseURL string
	// Tokens yields access tokens for Graph, for example entra.ClientSecret.
	// The client caches the token and asks for a new one before expiry or
	// after Graph rejects it, so Tokens should not cache on its own (a
	// caching source defeats the refresh after a 401).
	Tokens oauth2.TokenSource
	// HTTPClient's Transport sends the requests (nil:
	// graph.HTTPTransport(nil)); its Timeout, if any, bounds each request,
	// which would cut long $value downloads: prefer contexts.
	HTTPClient *http.Client
	// Version is collect's version, sent as User-Agent "collect/{Version}".
	Version string
	// Limits are the per-mailbox limits (zero fields: graph.DefaultLimits).
	Limits graph.Limits
	// Retry bounds the retries (zero fields: graph.DefaultRetryPolicy).
	Retry graph.RetryPolicy
	// PageSize is the odata.maxpagesize asked for delta pages; default 500.
	PageSize int
	// Logger receives debug records of requests (never headers or tokens).
	Logger *slog.Logger
	// Clock is the time source for tokens, back-off and limits (nil: system).
	Clock clock.Clock
	// Rand spreads back-offs (nil: math/rand/v2's randomly seeded source).
	Rand *rand.Rand
}

// Client is the SDK-backed graph.Source. It is safe for concurrent use.
type Client struct {
	base      string // Graph root, no trailing slash
	pageSize  int
	adapter   *msgraphsdk.GraphRequestAdapter
	root      string // base + "/v1.0"
	transport *graph.Transport
	log       *slog.Logger
	// http and auth send the requests collect builds without kiota
	// (FetchMIME): the same middleware, transport and token.
	http *http.Client
	auth *authProvider
}

var (
	_ graph.Source          = (*Client)(nil)
	_ graph.WellKnownLister = (*Client)(nil)
)

// New builds a Client.
func New(cfg Config) (*Client, error) {
	if cfg.Tokens == nil {
		return nil, errors.New("msgraph: a token source is required")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	trimmed := strings.TrimRight(cfg.BaseURL, "/")
	trimmed = strings.TrimSuffix(trimmed, "/v1.0")
	base, err := graph.CheckEndpoint(trimmed, "Graph base URL")
	if err != nil {
		return nil, err
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 500
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	jitter := rand.Float64
	if cfg.Rand != nil {
		var mu sync.Mutex
		r := cfg.Rand
		jitter = func() float64 {
			mu.Lock()
			defer mu.Unlock()
			return r.Float64()
		}
	}

	auth := &authProvider{tokens: &tokenCache{src: cfg.Tokens, clock: cfg.Clock}, base: base}

	var next http.RoundTripper
	if cfg.HTTPClient != nil && cfg.HTTPClient.Transport != nil {
		next = cfg.HTTPClient.Transport
	} else {
		next = graph.HTTPTransport(nil)
	}
	transport := graph.NewTransport(graph.TransportConfig{
		Next:        next,
		Limits:      cfg.Limits,
		Retry:       cfg.Retry,
		Clock:       cfg.Clock,
		Jitter:      jitter,
		Reauthorize: auth.reauthorize,
		Logger:      cfg.Logger,
	})
	httpClient := &http.Client{
		Transport: khttp.NewCustomTransportWithParentTransport(transport,
			khttp.NewParametersNameDecodingHandler(),
			&collectHeaders{userAgent: "collect/" + cfg.Version},
		),
		// Graph does not redirect the requests collect makes; a redirect
		// is returned as it is rather than followed with the token.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if cfg.HTTPClient != nil {
		httpClient.Timeout = cfg.HTTPClient.Timeout
	}

	parsers := absser.NewParseNodeFactoryRegistry()
	parsers.ContentTypeAssociatedFactories["application/json"] = jsonserialization.NewJsonParseNodeFactory()
	writers := absser.NewSerializationWriterFactoryRegistry()
	writers.ContentTypeAssociatedFactories["application/json"] = jsonserialization.NewJsonSerializationWriterFactory()
	adapter, err := msgraphsdk.NewGraphRequestAdapterWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(auth, parsers, writers, httpClient)
	if err != nil {
		return nil, fmt.Errorf("msgraph: %w", err)
	}
	root := base.String() + "/v1.0"
	adapter.SetBaseUrl(root)
	return &Client{
		base:      base.String(),
		pageSize:  cfg.PageSize,
		adapter:   adapter,
		root:      root,
		transport: transport,
		log:       cfg.Logger,
		http:      httpClient,
		auth:      auth,
	}, nil
}

// users returns a fresh request builder for every request: kiota writes
// the base URL into a builder's path parameters when it sends, so one
// builder shared between goroutines is a data race.
func (c *Client) users() *users.UsersRequestBuilder {
	return users.NewUsersRequestBuilderInternal(map[string]string{"baseurl": c.root}, c.adapter)
}

// Stats returns the transport's counters: requests, retries, throttled
// responses and the time each mailbox spent held back by the server.
func (c *Client) Stats() graph.Stats { return c.transport.Stats() }

// collectHeaders stamps what Graph should see on every request.
type collectHeaders struct {
	userAgent string
}

const immutableIDPreference = `IdType="ImmutableId"`

func (h *collectHeaders) Intercept(p khttp.Pipeline, i int, req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("User-Agent", h.userAgent)
	if req.Header.Get("client-request-id") == "" {
		req.Header.Set("client-request-id", uuid.NewString())
	}
	prefs := req.Header.Values("Prefer")
	has := false
	for _, p := range prefs {
		if strings.Contains(p, "IdType=") {
			has = true
		}
	}
	if !has {
		prefs = append(prefs, immutableIDPreference)
	}
	req.Header.Set("Prefer", strings.Join(prefs, ", "))
	return p.Next(req, i)
}

// opError names the operation on the classified error the transport
// produced, or classifies an error that never reached Graph.
func opError(op string, err error) error {
	if err == nil {
		return nil
	}
	var ge *graph.Error
	if errors.As(err, &ge) {
		out := *ge
		if out.Op == "" {
			out.Op = op
		}
		return &out
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &graph.Error{Op: op, Kind: graph.KindCanceled, Err: err}
	}
	return &graph.Error{Op: op, Kind: graph.TransportErrorKind(err), Err: err}
}
