package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/collect-ediscovery/collect/config"
	"github.com/collect-ediscovery/collect/graph"
	"github.com/collect-ediscovery/collect/graph/graphsim"
	"github.com/collect-ediscovery/collect/graph/msgraph"
)

// cloudEndpoints are the sign-in and Graph roots of each Microsoft cloud.
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
}

// connect builds the Graph source a matter's tenant block describes. The
// demo cloud starts the built-in simulated tenant on a loopback port.
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
		tokens, err := msgraph.ClientCredentials(demoBaseURL, graphsim.DemoTenantID, graphsim.DemoClientID, graphsim.DemoClientSecret,
			&http.Client{Transport: handlerTransport{tenant}})
		if err != nil {
			return nil, err
		}
		c, err := msgraph.New(msgraph.Config{BaseURL: demoBaseURL, Tokens: tokens, Version: version, Limits: limits, Logger: logger,
			HTTPClient: &http.Client{Transport: handlerTransport{tenant}}})
		if err != nil {
			return nil, err
		}
		return &connection{src: c, stats: c.Stats, demo: true, close: func() {}}, nil
	}

	ep, ok := cloudEndpoints[t.Cloud]
	if !ok {
		return nil, fmt.Errorf("unknown cloud %q", t.Cloud)
	}
	if v := s.getenv("COLLECT_GRAPH_ENDPOINT"); v != "" {
		ep.graph = v
	}
	if v := s.getenv("COLLECT_LOGIN_ENDPOINT"); v != "" {
		if err := checkLoopbackHTTP(v, "COLLECT_LOGIN_ENDPOINT"); err != nil {
			return nil, err
		}
		ep.login = v
	}
	if err := checkLoopbackHTTP(ep.graph, "COLLECT_GRAPH_ENDPOINT"); err != nil {
		return nil, err
	}
	switch t.Auth {
	case "client_secret":
	default:
		return nil, fmt.Errorf("auth = %q is not available in this version of collect: use auth = \"client_secret\" "+
			"with the secret in COLLECT_CLIENT_SECRET", t.Auth)
	}
	secret := s.getenv("COLLECT_CLIENT_SECRET")
	if secret == "" {
		return nil, fmt.Errorf("auth = \"client_secret\" needs the app's client secret in the environment variable " +
			"COLLECT_CLIENT_SECRET (collect never reads a secret from the matter files)")
	}
	tokens, err := msgraph.ClientCredentials(ep.login, t.TenantID, t.ClientID, secret, nil)
	if err != nil {
		return nil, err
	}
	c, err := msgraph.New(msgraph.Config{BaseURL: ep.graph, Tokens: tokens, Version: version, Limits: limits, Logger: logger})
	if err != nil {
		return nil, err
	}
	return &connection{src: c, stats: c.Stats, close: func() {}}, nil
}

// checkLoopbackHTTP refuses plain http except to this machine: a token
// must never cross a network in clear text.
func checkLoopbackHTTP(raw, what string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%s %q is not a URL such as https://graph.microsoft.com", what, raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		h := u.Hostname()
		if h == "localhost" || strings.HasPrefix(h, "127.") || h == "::1" {
			return nil
		}
		return fmt.Errorf("%s %q uses plain http to a host that is not this machine; tokens must not travel in clear text: use https", what, raw)
	}
	return fmt.Errorf("%s %q must be an https URL", what, raw)
}
