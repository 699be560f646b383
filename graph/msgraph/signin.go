package msgraph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/collect-ediscovery/collect/graph"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// GraphResource is the resource ID of Microsoft Graph in the global cloud.
// National clouds have their own (https://graph.microsoft.us, ...).
const GraphResource = "https://graph.microsoft.com"

// Authority says where, and as which app registration, collect signs in.
type Authority struct {
	// LoginURL is the Entra ID authority root without the tenant
	// (DefaultLoginURL when empty). Plain http only on a loopback host.
	LoginURL string
	Tenant   string // tenant ID or domain
	ClientID string // the app registration's application (client) ID
	// Resource is the Graph resource ID of the cloud, whose scopes are
	// asked for (GraphResource when empty). It is not the endpoint that
	// requests go to: COLLECT_GRAPH_ENDPOINT can point those elsewhere.
	Resource string
	// HTTPClient sends the sign-in requests (nil: one with a minute's timeout).
	HTTPClient *http.Client
	// Clock times device code polling and assertions (nil: system clock).
	Clock graph.Clock
}

// check fills the defaults and validates the authority.
func (a Authority) check() (Authority, error) {
	if a.LoginURL == "" {
		a.LoginURL = DefaultLoginURL
	}
	u, err := checkEndpoint(a.LoginURL, "login URL")
	if err != nil {
		return a, err
	}
	a.LoginURL = strings.TrimRight(u.String(), "/")
	if a.Tenant == "" || a.ClientID == "" {
		return a, errors.New("signing in needs a tenant and a client ID")
	}
	if a.Resource == "" {
		a.Resource = GraphResource
	}
	a.Resource = strings.TrimRight(a.Resource, "/")
	if a.HTTPClient == nil {
		a.HTTPClient = &http.Client{Timeout: time.Minute}
	}
	if a.Clock == nil {
		a.Clock = graph.SystemClock()
	}
	return a, nil
}

func (a Authority) endpoint(name string) string {
	return a.LoginURL + "/" + url.PathEscape(a.Tenant) + "/oauth2/v2.0/" + name
}

// TokenURL is the v2.0 token endpoint of the tenant.
func (a Authority) TokenURL() string { return a.endpoint("token") }

// DeviceCodeURL is the v2.0 device authorization endpoint of the tenant.
func (a Authority) DeviceCodeURL() string { return a.endpoint("devicecode") }

// AdminConsentURL is the page where an administrator grants the app's
// permissions for the whole tenant.
func (a Authority) AdminConsentURL() string {
	login := a.LoginURL
	if login == "" {
		login = DefaultLoginURL
	}
	return strings.TrimRight(login, "/") + "/" + url.PathEscape(a.Tenant) + "/adminconsent?client_id=" + url.QueryEscape(a.ClientID)
}

// AppScope is the scope of an app-only token: every application
// permission the app holds on Graph.
func (a Authority) AppScope() string {
	r := a.Resource
	if r == "" {
		r = GraphResource
	}
	return strings.TrimRight(r, "/") + "/.default"
}

// UserScopeNames are the delegated permissions collect asks for at sign-in.
var UserScopeNames = []string{"openid", "profile", "email", "offline_access",
	"User.Read", "User.Read.All", "Mail.Read", "Mail.Read.Shared"}

// UserScopes are UserScopeNames as sent to Entra ID: the OpenID Connect
// scopes as they are, Graph's prefixed with the cloud's Graph resource.
func (a Authority) UserScopes() []string {
	r := strings.TrimRight(a.Resource, "/")
	if r == "" {
		r = GraphResource
	}
	out := make([]string, 0, len(UserScopeNames))
	for _, s := range UserScopeNames {
		switch s {
		case "openid", "profile", "email", "offline_access":
			out = append(out, s)
		default:
			out = append(out, r+"/"+s)
		}
	}
	return out
}

// assertionTokens gets app-only tokens with a client assertion (a signed
// certificate assertion or a federated token) made fresh for each request.
type assertionTokens struct {
	a      Authority
	assert func() (string, error)
}

const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

func (s *assertionTokens) Token() (*oauth2.Token, error) {
	assertion, err := s.assert()
	if err != nil {
		return nil, &graph.Error{Op: "get token", Kind: graph.KindAccessDenied, Message: err.Error()}
	}
	cfg := &clientcredentials.Config{
		ClientID:  s.a.ClientID,
		TokenURL:  s.a.TokenURL(),
		Scopes:    []string{s.a.AppScope()},
		AuthStyle: oauth2.AuthStyleInParams,
		EndpointParams: url.Values{
			"client_assertion_type": {jwtBearer},
			"client_assertion":      {assertion},
		},
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, s.a.HTTPClient)
	tok, err := cfg.Token(ctx)
	if err != nil {
		return nil, s.a.signInError(err, assertion)
	}
	return tok, nil
}

// primed hands out a token already obtained once, then asks its source.
type primed struct {
	first *oauth2.Token
	src   oauth2.TokenSource
	used  bool
}

func (p *primed) Token() (*oauth2.Token, error) {
	// The client's token cache calls Token under its own lock.
	if !p.used {
		p.used = true
		return p.first, nil
	}
	return p.src.Token()
}

// SignIn gets a first token from src, so that a sign-in problem is
// reported before any mailbox is touched. It returns what the token says
// (read from its claims, not verified) and a source for the Client that
// hands that token out first. Token must not be called concurrently on
// the returned source (the Client's cache serializes its calls).
func SignIn(src oauth2.TokenSource) (oauth2.TokenSource, TokenInfo, error) {
	tok, err := src.Token()
	if err != nil {
		return nil, TokenInfo{}, err
	}
	info, err := InspectToken(tok.AccessToken)
	if err != nil {
		// Graph's tokens are JWTs; one that is not is still usable, only
		// not described.
		info = TokenInfo{}
	}
	return &primed{first: tok, src: src}, info, nil
}

// signInError turns a token endpoint failure into a *graph.Error whose
// message is one sentence saying what to do; the code and trace ID are
// kept, and no secret, assertion or token appears.
func (a Authority) signInError(err error, secrets ...string) error {
	e := tokenError(err, secrets...)
	var ge *graph.Error
	if !errors.As(e, &ge) {
		return e
	}
	if fix := a.explain(ge.Code, ge.Message); fix != "" {
		ge.Message = fix
	} else if ge.Message != "" && ge.Code != "" && strings.HasPrefix(ge.Code, "AADSTS") {
		ge.Message = fmt.Sprintf("sign-in failed: %s", strings.TrimPrefix(strings.TrimPrefix(ge.Message, ge.Code+":"), " "))
	}
	return ge
}
