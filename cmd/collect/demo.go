package main

import (
	"io"
	"net/http"
	"strconv"
	"sync"
)

// demoBaseURL is where the demo tenant appears to be. Requests to it never
// leave the process: handlerTransport serves them. A fixed address keeps
// the delta cursors the state stores valid from one run to the next, as
// real Graph's are.
const demoBaseURL = "http://127.0.0.1:9"

// handlerTransport serves requests with an http.Handler in the same
// process, streaming the response body as the handler writes it, so that
// a large $value is never held whole.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	pr, pw := io.Pipe()
	w := &pipeWriter{header: http.Header{}, body: pw, reader: pr, req: req, ready: make(chan struct{})}
	go func() {
		defer func() {
			w.WriteHeader(http.StatusOK) // for a handler that wrote nothing
			pw.Close()
		}()
		t.h.ServeHTTP(w, req)
	}()
	select {
	case <-w.ready:
		return w.resp, nil
	case <-req.Context().Done():
		pr.CloseWithError(req.Context().Err())
		return nil, req.Context().Err()
	}
}

// pipeWriter is an http.ResponseWriter whose body is the write end of a
// pipe; the response handed to the client reads the other end.
type pipeWriter struct {
	header http.Header
	body   *io.PipeWriter
	reader *io.PipeReader
	req    *http.Request
	once   sync.Once
	ready  chan struct{}
	resp   *http.Response
}

func (w *pipeWriter) Header() http.Header { return w.header }

func (w *pipeWriter) WriteHeader(status int) {
	w.once.Do(func() {
		length := int64(-1)
		if n, err := strconv.ParseInt(w.header.Get("Content-Length"), 10, 64); err == nil {
			length = n
		}
		w.resp = &http.Response{
			Status: strconv.Itoa(status) + " " + http.StatusText(status), StatusCode: status,
			Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: w.header.Clone(), Body: w.reader, ContentLength: length, Request: w.req,
		}
		close(w.ready)
	})
}

func (w *pipeWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}
