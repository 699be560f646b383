package graph

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
)

// IdleConnsPerHost is how many idle connections to one host the transport
// keeps for reuse. Go's default keeps 2: over HTTP/1.1, a plan or apply
// reading many mailboxes at once (4 requests in flight each, 20 mailboxes
// with -parallelism=20) would close most connections after one request
// and open a new one, with a TLS handshake, for the next. Over HTTP/2, as
// Graph serves, one connection carries every request and this is moot.
const IdleConnsPerHost = 256

// HTTPTransport is the connection layer for Graph and its sign-in: Go's
// default transport (proxy from the environment, HTTP/2 offered over TLS)
// with IdleConnsPerHost idle connections kept per host. roots, when not
// nil, replaces the system's certificate roots; only tests pass it, to
// trust a simulator served over TLS.
func HTTPTransport(roots *x509.CertPool) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 2 * IdleConnsPerHost
	t.MaxIdleConnsPerHost = IdleConnsPerHost
	t.ForceAttemptHTTP2 = true
	if roots != nil {
		t.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	return t
}
