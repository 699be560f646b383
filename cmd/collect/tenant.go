package main

import (
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/collect-ediscovery/collect/config"
	"github.com/collect-ediscovery/collect/graph"
	"github.com/collect-ediscovery/collect/graph/entra"
	"github.com/collect-ediscovery/collect/graph/graphsim"
	"github.com/collect-ediscovery/collect/graph/msgraph"
	"golang.org/x/oauth2"
)

// cloudEndpoints are the sign-in and Graph roots of each Microsoft cloud;
// the Graph root is also the resource whose permissions are asked for.
var cloudEndpoints = map[string]struct{ login, graph string }{
	config.CloudGlobal:   {"https://login.microsoftonline.com", "https://graph.microsoft.com"},
	config.CloudUSGov:    {"https://login.microsoftonline.us", "https://graph.microsoft.us"},
	config.CloudUSGovDoD: {"https://login.microsoftonline.us", "https://dod-graph.microsoft.us"},
	config.CloudChina:    {"https://login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn"},
}

// demoBanner is printed by every command that talks to the demo tenant.
const demoBanner = "DEMO TENANT: simulated mail from collect's built-in demo tenant, not a Microsoft 365 tenant."

// connection is a signed-in Graph source for one matter.
type connection struct {
	src   graph.Source
	stats func() graph.Stats
	demo  bool
	close func()
	// token is what the first access token says about itself (its
	// claims, read without verifying them), for doctor.
	token entra.TokenInfo
	// authority is where collect signed in.
	authority entra.Authority
}

// trustedRoots, when set, are the only certificate roots collect trusts
// for sign-in and Graph. Nothing in the product sets it: tests do, in the
// test binary, to reach the simulator served over TLS (graphsim.StartTLS).
var trustedRoots *x509.CertPool

// signInTarget is where and how a matter signs in.
type signInTarget struct {
	authority entra.Authority
	graphURL  string
}

// resolveTenant picks the login and Graph endpoints of the matter's cloud,
// with the COLLECT_LOGIN_ENDPOINT and COLLECT_GRAPH_ENDPOINT overrides.
func resolveTenant(s *streams, t config.Tenant) (signInTarget, error) {
	ep, ok := cloudEndpoints[t.Cloud]
	if !ok {
		return signInTarget{}, fmt.Errorf("unknown cloud %q", t.Cloud)
	}
	resource := ep.graph
	if v := s.getenv("COLLECT_GRAPH_ENDPOINT"); v != "" {
		ep.graph = v
	}
	if v := s.getenv("COLLECT_LOGIN_ENDPOINT"); v != "" {
		if _, err := graph.CheckEndpoint(v, "COLLECT_LOGIN_ENDPOINT"); err != nil {
			return signInTarget{}, err
		}
		ep.login = v
	}
	if _, err := graph.CheckEndpoint(ep.graph, "COLLECT_GRAPH_ENDPOINT"); err != nil {
		return signInTarget{}, err
	}
	return signInTarget{
		authority: entra.Authority{LoginURL: ep.login, Tenant: t.TenantID, ClientID: t.ClientID, Resource: resource},
		graphURL:  ep.graph,
	}, nil
}

// tokenCache is the folder of cached delegated sign-ins:
// COLLECT_CACHE_DIR, or collect/ in the user's cache folder.
func tokenCache(s *streams) entra.TokenCache {
	if v := s.getenv("COLLECT_CACHE_DIR"); v != "" {
		return entra.TokenCache{Dir: v}
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return entra.TokenCache{}
	}
	return entra.TokenCache{Dir: filepath.Join(dir, "collect")}
}

// tokenSource builds the token source of the matter's auth mode. Secrets
// come from the environment, never from the matter.
func tokenSource(s *streams, t config.Tenant, a entra.Authority) (oauth2.TokenSource, error) {
	switch t.Auth {
	case "client_secret":
		secret := s.getenv("COLLECT_CLIENT_SECRET")
		if secret == "" {
			return nil, fmt.Errorf("auth = \"client_secret\" needs the app's client secret in the environment variable " +
				"COLLECT_CLIENT_SECRET (collect never reads a secret from the matter files)")
		}
		return entra.ClientSecret(a, secret)
	case "client_certificate":
		if t.CertificatePath == "" {
			return nil, fmt.Errorf("auth = \"client_certificate\" needs certificate_path in the tenant block: a PEM file with the certificate and its private key")
		}
		b, err := readCertificateFile(t.CertificatePath)
		if err != nil {
			return nil, err
		}
		cert, err := entra.LoadCertificate(b, s.getenv("COLLECT_CERTIFICATE_PASSWORD"))
		if err != nil {
			return nil, fmt.Errorf("%s: %v", t.CertificatePath, err)
		}
		return entra.ClientCertificate(a, cert)
	case "federated_token":
		return entra.FederatedToken(a, s.getenv("COLLECT_FEDERATED_TOKEN_FILE"))
	case "device_code":
		return entra.UserTokens(a, tokenCache(s))
	}
	return nil, fmt.Errorf("auth = %q is not a sign-in mode collect knows: use device_code, client_secret, client_certificate or federated_token", t.Auth)
}

// connect signs in as the matter's tenant block says and builds its Graph
// source. Sign-in happens here, once, so that a sign-in problem is one
// error before any mailbox is read. The demo cloud starts the built-in
// simulated tenant in this process.
func connect(s *streams, m *config.Matter, version string) (*connection, error) {
	t := m.Tenant
	limits := graph.Limits{
		Concurrency: t.MailboxConcurrency,
		Requests:    t.MailboxRequestLimit,
		Window:      t.MailboxRequestWindow,
	}
	var logger *slog.Logger
	if strings.EqualFold(s.getenv("COLLECT_LOG"), "debug") {
		logger = slog.New(slog.NewTextHandler(s.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if t.Demo() {
		tenant, err := graphsim.Demo(graphsim.Config{}, "")
		if err != nil {
			return nil, fmt.Errorf("start the demo tenant: %w", err)
		}
		a := entra.Authority{LoginURL: demoBaseURL, Tenant: graphsim.DemoTenantID, ClientID: graphsim.DemoClientID,
			HTTPClient: &http.Client{Transport: handlerTransport{tenant}}}
		tokens, err := entra.ClientSecret(a, graphsim.DemoClientSecret)
		if err != nil {
			return nil, err
		}
		tokens, info, err := entra.SignIn(tokens)
		if err != nil {
			return nil, err
		}
		c, err := msgraph.New(msgraph.Config{BaseURL: demoBaseURL, Tokens: tokens, Version: version, Limits: limits, Logger: logger,
			HTTPClient: &http.Client{Transport: handlerTransport{tenant}}})
		if err != nil {
			return nil, err
		}
		conn := &connection{src: c, stats: c.Stats, demo: true, close: func() {}, token: info, authority: a}
		s.advice = conn.facts(t)
		return conn, nil
	}

	target, err := resolveTenant(s, t)
	if err != nil {
		return nil, err
	}
	var hc *http.Client // nil: msgraph's and entra's own, on graph.HTTPTransport
	if trustedRoots != nil {
		hc = &http.Client{Transport: graph.HTTPTransport(trustedRoots)}
		target.authority.HTTPClient = &http.Client{Transport: hc.Transport, Timeout: time.Minute}
	}
	tokens, err := tokenSource(s, t, target.authority)
	if err != nil {
		return nil, err
	}
	tokens, info, err := entra.SignIn(tokens)
	if err != nil {
		return nil, fmt.Errorf("cannot sign in to tenant %s %s (auth = %q): %w", t.TenantID, signInSubject(t), t.Auth, err)
	}
	c, err := msgraph.New(msgraph.Config{BaseURL: target.graphURL, Tokens: tokens, Version: version, Limits: limits, Logger: logger, HTTPClient: hc})
	if err != nil {
		return nil, err
	}
	conn := &connection{src: c, stats: c.Stats, close: func() {}, token: info, authority: target.authority}
	s.advice = conn.facts(t) // who signed in, for the advice on what fails next
	return conn, nil
}
