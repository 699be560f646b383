package entra

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/collect-ediscovery/collect/graph"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

const deviceCodeGrant = "urn:ietf:params:oauth:grant-type:device_code"

// DeviceCodePrompt is what the person signing in must do: open
// VerificationURI in any browser, on any device, and enter UserCode.
type DeviceCodePrompt struct {
	UserCode        string
	VerificationURI string
	ExpiresAt       time.Time
}

// DeviceLogin runs the device code flow (RFC 8628) for the delegated
// scopes of UserScopes: it asks for a code, calls prompt once with what
// to show, then polls the token endpoint at the interval the server asks
// (slower after slow_down) until the user approved, declined, or the code
// expired. Waiting runs on the authority's clock. The returned token holds
// the refresh token; Account names who signed in.
func DeviceLogin(ctx context.Context, a Authority, prompt func(DeviceCodePrompt)) (*oauth2.Token, string, error) {
	a, err := a.check()
	if err != nil {
		return nil, "", err
	}
	cfg := &oauth2.Config{
		ClientID: a.ClientID,
		Endpoint: oauth2.Endpoint{DeviceAuthURL: a.DeviceCodeURL(), TokenURL: a.TokenURL(), AuthStyle: oauth2.AuthStyleInParams},
		Scopes:   a.UserScopes(),
	}
	hctx := context.WithValue(ctx, oauth2.HTTPClient, a.HTTPClient)
	da, err := cfg.DeviceAuth(hctx)
	if err != nil {
		return nil, "", tokenError(err)
	}
	if da.DeviceCode == "" || da.UserCode == "" || da.VerificationURI == "" {
		return nil, "", &graph.Error{Op: "get token", Kind: graph.KindOther, Message: "the device code endpoint answered without a code"}
	}
	start := a.Clock.Now()
	life := 15 * time.Minute
	if !da.Expiry.IsZero() {
		life = time.Until(da.Expiry).Round(time.Second)
	}
	deadline := start.Add(life)
	prompt(DeviceCodePrompt{UserCode: da.UserCode, VerificationURI: da.VerificationURI, ExpiresAt: deadline})

	interval := time.Duration(da.Interval) * time.Second
	if interval <= 0 {
		interval = 5 * time.Second
	}
	poll := &clientcredentials.Config{
		ClientID:  a.ClientID,
		TokenURL:  a.TokenURL(),
		AuthStyle: oauth2.AuthStyleInParams,
		EndpointParams: url.Values{
			"grant_type":  {deviceCodeGrant},
			"device_code": {da.DeviceCode},
		},
	}
	for {
		select {
		case <-ctx.Done():
			return nil, "", &graph.Error{Op: "get token", Kind: graph.KindCanceled, Err: ctx.Err()}
		case <-a.Clock.After(interval):
		}
		tok, err := poll.Token(hctx)
		if err == nil {
			if tok.RefreshToken == "" {
				return nil, "", &graph.Error{Op: "get token", Kind: graph.KindConsentRequired,
					Message: "the sign-in returned no refresh token: offline_access was not granted"}
			}
			return tok, accountOf(tok), nil
		}
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) {
			return nil, "", tokenError(err, da.DeviceCode)
		}
		switch re.ErrorCode {
		case "authorization_pending":
		case "slow_down":
			interval += 5 * time.Second
		case "expired_token", "code_expired":
			return nil, "", deviceError(re, graph.KindDeviceCodeExpired, da.DeviceCode)
		case "authorization_declined", "access_denied":
			return nil, "", deviceError(re, graph.KindDeviceCodeDeclined, da.DeviceCode)
		default:
			return nil, "", tokenError(err, da.DeviceCode)
		}
		if !a.Clock.Now().Before(deadline) {
			return nil, "", &graph.Error{Op: "get token", Kind: graph.KindDeviceCodeExpired, Code: "expired_token",
				Message: "the sign-in code expired before it was used (it was valid for " + life.String() + ")"}
		}
	}
}

// deviceError is the end of a device code sign-in the person (or the
// code's lifetime) decided: its kind whatever the AADSTS code says.
func deviceError(re *oauth2.RetrieveError, kind graph.Kind, secrets ...string) error {
	e := tokenError(re, secrets...)
	e.Kind = kind
	return e
}

// userTokens gets access tokens with the refresh token of a cached
// sign-in, and saves the refresh token Entra rotates in its place.
type userTokens struct {
	a     Authority
	cache TokenCache
}

// UserTokens returns a token source for the delegated sign-in that
// collect login cached: each Token redeems the cached refresh token
// silently. Without a cached sign-in, or when Entra refuses the refresh
// token (expired, revoked), the error is graph.KindLoginRequired.
func UserTokens(a Authority, cache TokenCache) (oauth2.TokenSource, error) {
	a, err := a.check()
	if err != nil {
		return nil, err
	}
	return &userTokens{a: a, cache: cache}, nil
}

func (u *userTokens) Token() (*oauth2.Token, error) {
	rec, err := u.cache.Load(u.a)
	if err != nil {
		return nil, localError(err)
	}
	// Entra ID wants the scopes with a refresh token grant, which
	// oauth2.Config's refresher does not send.
	cfg := &clientcredentials.Config{
		ClientID:  u.a.ClientID,
		TokenURL:  u.a.TokenURL(),
		Scopes:    u.a.UserScopes(),
		AuthStyle: oauth2.AuthStyleInParams,
		EndpointParams: url.Values{
			"grant_type":    {"refresh_token"},
			"refresh_token": {rec.RefreshToken},
		},
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, u.a.HTTPClient)
	tok, err := cfg.Token(ctx)
	if err != nil {
		e := tokenError(err, rec.RefreshToken)
		// Entra refuses a refresh token it no longer honours with
		// invalid_grant, whatever AADSTS code it gives.
		var re *oauth2.RetrieveError
		if e.Kind == graph.KindSignInRefused && errors.As(err, &re) && re.ErrorCode == "invalid_grant" {
			e.Kind = graph.KindLoginRequired
		}
		if e.Kind == graph.KindLoginRequired {
			e.Message = fmt.Sprintf("the cached sign-in of %s was refused: %s", rec.Account, e.Message)
		}
		return nil, e
	}
	if tok.RefreshToken != "" && tok.RefreshToken != rec.RefreshToken {
		rec.RefreshToken = tok.RefreshToken
		rec.SavedAt = u.a.Clock.Now().UTC()
		if err := u.cache.Save(u.a, *rec); err != nil {
			return nil, &graph.Error{Op: "get token", Kind: graph.KindOther, Message: "save the renewed sign-in: " + err.Error()}
		}
	}
	return tok, nil
}
