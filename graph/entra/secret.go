package entra

import (
	"context"
	"errors"
	"net/http"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

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
		return nil, tokenError(err, s.secret)
	}
	return tok, nil
}
