package msgraph

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/collect-ediscovery/collect/graph"
	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
)

// FetchMIME streams the message's $value to w. The bytes go from the
// connection to w through a fixed buffer: a kiota response handler takes
// the raw *http.Response, so the SDK never reads the body into memory.
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
	var written int64
	var copyErr error
	handler := abs.NewRequestHandlerOption()
	handler.SetResponseHandler(func(response any, _ abs.ErrorMappings) (any, error) {
		resp, ok := response.(*http.Response)
		if !ok || resp == nil {
			return nil, errors.New("no HTTP response")
		}
		defer resp.Body.Close()
		written, copyErr = copyBody(w, resp)
		return nil, nil
	})
	_, err := c.users().ByUserId(mb.ID).Messages().ByMessageId(messageID).Content().Get(ctx,
		&users.ItemMessagesItemValueContentRequestBuilderGetRequestConfiguration{
			Options: []abs.RequestOption{handler},
		})
	if err != nil {
		return 0, opError(op, err)
	}
	if copyErr != nil {
		return written, copyErr
	}
	return written, nil
}

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
	n, err := io.Copy(w, watchedReader{r: resp.Body, failed: failed})
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
