package graph

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
)

func TestTransportErrorKindReadsErrorValuesNotText(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want Kind
	}{
		{"canceled", fmt.Errorf("get: %w", context.Canceled), KindCanceled},
		{"broken HTTP/1 connection", fmt.Errorf("net/http: HTTP/1.x transport connection broken: %w", io.ErrUnexpectedEOF), KindTransient},
		{"reset by peer", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, KindTransient},
		{"read cut", &net.OpError{Op: "read", Net: "tcp", Err: errors.New("use of closed network connection")}, KindTransient},
		{"unknown host", &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "graph.example.invalid", IsNotFound: true}}, KindOther},
		// Words alone decide nothing.
		{"text only", errors.New("connection reset"), KindOther},
	} {
		if got := TransportErrorKind(c.err); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
