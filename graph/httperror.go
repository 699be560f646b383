package graph

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrorFromResponse classifies a failed Graph response: its status, Graph's
// error code and message from the JSON body (when there is one), the
// request-id (from the body's innerError, else the response header) and the
// Retry-After the server asked for. body is what was read of the response
// body; it may be empty. The returned error's Op is empty: the caller names
// the operation.
func ErrorFromResponse(resp *http.Response, body []byte, now time.Time) *Error {
	e := &Error{Status: resp.StatusCode}
	var env struct {
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError struct {
				RequestID string `json:"request-id"`
				Code      string `json:"code"`
			} `json:"innerError"`
		} `json:"error"`
	}
	if len(body) > 0 && json.Unmarshal(body, &env) == nil {
		e.Code = env.Error.Code
		e.Message = env.Error.Message
		e.RequestID = env.Error.InnerError.RequestID
	}
	if e.RequestID == "" {
		e.RequestID = resp.Header.Get("request-id")
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	if ra, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), now); ok {
		e.RetryAfter = ra
	}
	e.Kind = Classify(resp.StatusCode, e.Code)
	if e.Kind == KindTransient && resp.StatusCode == http.StatusServiceUnavailable && e.RetryAfter > 0 {
		e.Kind = KindThrottled
	}
	return e
}

// ParseRetryAfter reads a Retry-After header: whole seconds, fractional
// seconds ("2.128", as Graph sometimes sends) or an HTTP date. A date in the
// past is a zero wait. ok is false when the header is absent or unreadable.
func ParseRetryAfter(h string, now time.Time) (d time.Duration, ok bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if secs, err := strconv.ParseFloat(h, 64); err == nil {
		if math.IsNaN(secs) || math.IsInf(secs, 0) || secs < 0 {
			return 0, false
		}
		if secs > 24*3600 {
			secs = 24 * 3600
		}
		return time.Duration(secs * float64(time.Second)), true
	}
	if t, err := http.ParseTime(h); err == nil {
		if d := t.Sub(now); d > 0 {
			return d, true
		}
		return 0, true
	}
	return 0, false
}

// TransportErrorKind classifies an error from sending a request or reading
// its response: a canceled context, a connection cut (reset, EOF, broken
// pipe, refused, timeout) that is worth retrying, or anything else.
func TransportErrorKind(err error) Kind {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return KindCanceled
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNREFUSED):
		return KindTransient
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return KindTransient
	}
	// A connection that broke while a request was sent or its response
	// read. (The HTTP transport itself resends an idempotent request after
	// a server closed an idle connection.)
	var op *net.OpError
	if errors.As(err, &op) && (op.Op == "read" || op.Op == "write") {
		return KindTransient
	}
	return KindOther
}
