package graphtest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/collect-ediscovery/collect/graph"
)

// wire is the RoundTripper a Source under test must send its requests
// through. It watches politeness from the client's side of the
// connection: for each mailbox, how many requests were open at once
// (from sending to the end of the response body), and whether any request
// was sent after a throttled response arrived but before its Retry-After
// had elapsed.
type wire struct {
	next http.RoundTripper

	mu        sync.Mutex
	inFlight  map[string]int
	maxFlight map[string]int
	notBefore map[string]time.Time // end of the latest Retry-After...
	heardAt   map[string]time.Time // ...and when the client received it
	// inPipe is how many requests may still set off inside the window
	// because the client admitted them before it could read the throttled
	// answer: at most the other slots of the mailbox.
	inPipe     map[string]int
	early      []string
	sent       map[string]int
	throttled  map[string]int
	statusSeen map[int]int
}

func newWire(next http.RoundTripper) *wire {
	return &wire{
		next:       next,
		inFlight:   map[string]int{},
		maxFlight:  map[string]int{},
		notBefore:  map[string]time.Time{},
		heardAt:    map[string]time.Time{},
		inPipe:     map[string]int{},
		sent:       map[string]int{},
		throttled:  map[string]int{},
		statusSeen: map[int]int{},
	}
}

func (w *wire) RoundTrip(req *http.Request) (*http.Response, error) {
	mb := graph.MailboxOf(req.URL.EscapedPath())
	start := time.Now()
	w.mu.Lock()
	if mb != "" {
		// A request that set off before the throttled answer arrived was
		// already on its way; one that set off after it must wait.
		if nb := w.notBefore[mb]; start.After(w.heardAt[mb]) && start.Before(nb) && !w.pipeLocked(mb) {
			w.early = append(w.early, fmt.Sprintf("%s %s sent %v before the Retry-After elapsed",
				req.Method, req.URL.Path, nb.Sub(start)))
		}
		w.sent[mb]++
		w.inFlight[mb]++
		if w.inFlight[mb] > w.maxFlight[mb] {
			w.maxFlight[mb] = w.inFlight[mb]
		}
	}
	w.mu.Unlock()

	resp, err := w.next.RoundTrip(req)
	if err != nil {
		w.done(mb)
		return nil, err
	}
	received := time.Now()
	pauses := true
	if mb != "" && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		// A MailboxConcurrency 429 holds back only the refused request:
		// the mailbox's others may go on.
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		pauses = graph.PausesMailbox(graph.ErrorFromResponse(resp, body, received))
	}
	w.mu.Lock()
	w.statusSeen[resp.StatusCode]++
	if mb != "" && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		w.throttled[mb]++
		if ra, ok := graph.ParseRetryAfter(resp.Header.Get("Retry-After"), received); ok && pauses {
			if nb := received.Add(ra); nb.After(w.notBefore[mb]) {
				w.notBefore[mb] = nb
				w.heardAt[mb] = received
				w.inPipe[mb] = perMailboxLimit - 1
			}
		}
	}
	w.mu.Unlock()
	if mb == "" {
		return resp, nil
	}
	resp.Body = &wireBody{ReadCloser: resp.Body, done: func() { w.done(mb) }}
	return resp, nil
}

// perMailboxLimit is Graph's limit of concurrent requests per mailbox.
const perMailboxLimit = 4

// pipeLocked takes one of the requests that were admitted before the
// throttled answer arrived, if any is left.
func (w *wire) pipeLocked(mb string) bool {
	if w.inPipe[mb] > 0 {
		w.inPipe[mb]--
		return true
	}
	return false
}

func (w *wire) done(mb string) {
	if mb == "" {
		return
	}
	w.mu.Lock()
	w.inFlight[mb]--
	w.mu.Unlock()
}

type wireReport struct {
	MaxInFlight map[string]int
	Sent        map[string]int
	Throttled   map[string]int
	Early       []string
}

func (w *wire) report() wireReport {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := wireReport{MaxInFlight: map[string]int{}, Sent: map[string]int{}, Throttled: map[string]int{}, Early: append([]string(nil), w.early...)}
	for k, v := range w.maxFlight {
		r.MaxInFlight[k] = v
	}
	for k, v := range w.sent {
		r.Sent[k] = v
	}
	for k, v := range w.throttled {
		r.Throttled[k] = v
	}
	return r
}

type wireBody struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (b *wireBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.once.Do(b.done)
	}
	return n, err
}

func (b *wireBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.done)
	return err
}
