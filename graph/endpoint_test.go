package graph

import "testing"

func TestCheckEndpointKeepsTokensOffPlainHTTP(t *testing.T) {
	for raw, ok := range map[string]bool{
		"https://login.microsoftonline.us":    true,
		"http://127.0.0.1:8443":               true,
		"http://127.8.9.10":                   true,
		"http://LOCALHOST:1":                  true,
		"http://[::1]:9":                      true,
		"http://10.0.0.5:8080":                false,
		"http://login.example.com":            false,
		"http://localhost.example.com":        false,
		"ftp://graph.example.com":             false,
		"graph.microsoft.com":                 false,
		"https://graph.example.com/?x=1":      false,
		"https://graph.example.com/#f":        false,
		"https://user:pw@graph.microsoft.com": false,
	} {
		u, err := CheckEndpoint(raw, "COLLECT_GRAPH_ENDPOINT")
		if (err == nil) != ok {
			t.Errorf("CheckEndpoint(%q) = %v, want ok=%v", raw, err, ok)
		}
		if err == nil && u.Host == "" {
			t.Errorf("CheckEndpoint(%q) returned a URL without a host", raw)
		}
	}
}
