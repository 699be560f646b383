package msgraph

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/collect-ediscovery/collect/graph"
)

// FetchMIME streams the message's $value to w. The bytes go from the
// connection to w through a fixed buffer, never whole in memory. The
// request is built here rather than by the SDK's request builder, whose
// URI template expansion and request object cost more CPU than the rest
// of a small message's download; it goes through the same middleware and
// transport (headers, limiter, retries) with the same token.
//
// A body shorter than its Content-Length, or a connection cut while
// reading, is a KindTransient error, never a short success. FetchMIME does
// not retry a cut body itself, because part of it has already gone to w:
// retrying is the caller's job, with a fresh (or truncated) writer. An
// error writing to w is KindOther with the writer's error inside.
func (c *Client) FetchMIME(ctx context.Context, mb graph.Mailbox, messageID string, w io.Writer) (int64, error) {
	const op = "fetch $value"
	if messageID == "" {
		return 0, &graph.Error{Op: op, Kind: graph.KindMalformedID, Message: "empty message ID"}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		c.root+"/users/"+escapeSegment(mb.ID)+"/messages/"+escapeSegment(messageID)+"/$value", nil)
	if err != nil {
		return 0, &graph.Error{Op: op, Kind: graph.KindMalformedID, Err: err}
	}
	if err := c.auth.authorize(ctx, req); err != nil {
		return 0, opError(op, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, opError(op, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, &graph.Error{Op: op, Kind: graph.KindOther, Status: resp.StatusCode, RequestID: resp.Header.Get("request-id"),
			Message: fmt.Sprintf("unexpected status %d for a message body", resp.StatusCode)}
	}
	return copyBody(w, resp)
}

// escapeSegment percent-encodes an ID for one path segment, everything
// but RFC 3986's unreserved characters, as the SDK's URI templates do:
// message IDs hold "/", "+" and "=".
func escapeSegment(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if 'A' <= ch && ch <= 'Z' || 'a' <= ch && ch <= 'z' || '0' <= ch && ch <= '9' || ch == '-' || ch == '.' || ch == '_' || ch == '~' {
			b.WriteByte(ch)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[ch>>4])
		b.WriteByte(hex[ch&15])
	}
	return b.String()
}

// copyBuffers are the buffers bodies are copied through, reused.
var copyBuffers = sync.Pool{New: func() any {
	b := make([]byte, 32<<10)
	return &b
}}

type readFailure struct{ err error }

type watchedReader struct {
	r      io.Reader
	failed *readFailure
}

func (w watchedReader) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if err != nil && err != io.EOF {
		w.failed.err = err
	}
	return n, err
}

// copyBody copies the body and checks it against Content-Length, telling a
// cut connection (transient) from a failing writer.
func copyBody(w io.Writer, resp *http.Response) (int64, error) {
	const op = "fetch $value"
	rid := resp.Header.Get("request-id")
	failed := &readFailure{}
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	n, err := io.CopyBuffer(w, watchedReader{r: resp.Body, failed: failed}, *buf)
	if err != nil {
		if failed.err != nil {
			kind := graph.TransportErrorKind(failed.err)
			if kind == graph.KindOther {
				kind = graph.KindTransient
			}
			if errors.Is(failed.err, context.Canceled) || errors.Is(failed.err, context.DeadlineExceeded) {
				kind = graph.KindCanceled
			}
			return n, &graph.Error{Op: op, Kind: kind, Status: resp.StatusCode, RequestID: rid,
				Message: fmt.Sprintf("message body cut short after %d bytes", n), Err: failed.err}
		}
		return n, &graph.Error{Op: op, Kind: graph.KindOther, Status: resp.StatusCode, RequestID: rid,
			Message: fmt.Sprintf("writing the message failed after %d bytes: %v", n, err), Err: err}
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return n, &graph.Error{Op: op, Kind: graph.KindTransient, Status: resp.StatusCode, RequestID: rid,
			Message: fmt.Sprintf("message body has %d bytes, the server announced %d", n, resp.ContentLength)}
	}
	return n, nil
}
