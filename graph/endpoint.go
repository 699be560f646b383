package graph

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// CheckEndpoint parses the URL of a sign-in or Graph endpoint and accepts
// https, and plain http only to a loopback host (the simulator): a token
// must never cross a network in clear text. what names the setting in the
// error, such as "COLLECT_GRAPH_ENDPOINT".
func CheckEndpoint(raw, what string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("%s %q is not a URL such as https://graph.microsoft.com", what, raw)
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return nil, fmt.Errorf("%s %q uses plain http to a host that is not this machine; tokens must not travel in clear text: use https", what, raw)
		}
	default:
		return nil, fmt.Errorf("%s %q must be an https URL", what, raw)
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
