package entra

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/collect-ediscovery/collect/graph"
	"github.com/collect-ediscovery/collect/internal/clock"
)

// GraphScope is the scope an app asks for to use its Graph application permissions.
const GraphScope = "https://graph.microsoft.com/.default"

// DefaultLoginURL is the Entra ID authority of the global cloud.
const DefaultLoginURL = "https://login.microsoftonline.com"

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
	Clock clock.Clock
}

// check fills the defaults and validates the authority.
func (a Authority) check() (Authority, error) {
	if a.LoginURL == "" {
		a.LoginURL = DefaultLoginURL
	}
	u, err := graph.CheckEndpoint(a.LoginURL, "login URL")
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
		a.Clock = clock.System()
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
