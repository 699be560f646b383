package graphsim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/collect-ediscovery/collect/graph"
)

// SourceOptions tune an in-process Source.
type SourceOptions struct {
	// ClientID is the app the Source acts as: its roles and its mailbox
	// access (SetMailboxAccess) apply. Empty: the tenant's default app.
	ClientID string
	// PageSize is the delta page size, as odata.maxpagesize would ask;
	// 0: Config.DeltaPageSize.
	PageSize int
	// Retries is how many times a throttled or transient request is sent
	// again inside the Source, after its Retry-After (or RetryWait,
	// doubling) on the tenant's clock. 0: such errors are returned to the
	// caller at once, as a transport that gave up would return them. A
	// $value cut short is never retried here: bytes already went to the
	// writer.
	Retries   int
	RetryWait time.Duration // default 5 ms, doubling up to 1 s
	// MailboxConcurrency, when positive, holds the Source to that many
	// requests in flight per mailbox and makes it wait out every
	// Retry-After before sending the next request to the mailbox, as a
	// polite client does.
	MailboxConcurrency int
}

// Source is a graph.Source that reads the tenant model directly, without
// HTTP or JSON: resolution, folders, delta rounds and $value have the
// semantics of the HTTP routes (same tokens, same errors, same bytes,
// same counters, same injected faults), at the cost of a function call.
// IDs are always immutable IDs, as collect asks for them.
//
// Each page of a delta round, each $value and each folder listing counts
// as one request in Counters and passes the per (app, mailbox) limits,
// the hold, the latency and the fault injection of the mailbox, as an
// HTTP request would.
type Source struct {
	t    *Tenant
	opts SourceOptions
	lim  *graph.Limiter
}

var (
	_ graph.Source          = (*Source)(nil)
	_ graph.WellKnownLister = (*Source)(nil)
)

// Source returns an in-process graph.Source on the tenant.
func (t *Tenant) Source(opts SourceOptions) *Source {
	if opts.ClientID == "" {
		opts.ClientID = t.defaultApp
	}
	if opts.RetryWait <= 0 {
		opts.RetryWait = 5 * time.Millisecond
	}
	s := &Source{t: t, opts: opts}
	if opts.MailboxConcurrency > 0 {
		// No window on the client side: the simulator's window answers
		// 429 ApplicationThrottled, as Graph does, and the pause follows.
		s.lim = graph.NewLimiter(graph.Limits{Concurrency: opts.MailboxConcurrency, Requests: 1 << 30}, t.clock)
	}
	return s
}

// ResolveMailbox finds the directory object an address names (UPN,
// object ID, primary SMTP address or alias, case-insensitively) and opens
// its mailbox, as the HTTP client does with GET /users/{address}, the
// proxyAddresses search and GET .../mailFolders/inbox. When the mailbox
// cannot be read, the Mailbox found is returned with the error.
func (s *Source) ResolveMailbox(ctx context.Context, address string) (graph.Mailbox, error) {
	const op = "resolve mailbox"
	t := s.t
	addr := strings.TrimSpace(address)
	if err := ctx.Err(); err != nil {
		return graph.Mailbox{}, canceled(op, err)
	}
	if addr == "" {
		return graph.Mailbox{}, &graph.Error{Op: op, Kind: graph.KindNotFound, Message: "empty mailbox address"}
	}
	tok, a := s.token()
	if a == nil {
		return graph.Mailbox{}, &graph.Error{Op: op, Kind: graph.KindAccessDenied, Status: http.StatusUnauthorized,
			Code: "InvalidAuthenticationToken", Message: fmt.Sprintf("the app %s is not registered in the tenant", s.opts.ClientID)}
	}
	if !tok.has(directoryRoles...) {
		t.stats.count(nil, RouteUser, http.StatusForbidden, 0)
		return graph.Mailbox{}, s.fail(op, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
	}
	t.mu.Lock()
	u, found := t.byKey[strings.ToLower(addr)]
	var mb graph.Mailbox
	if found {
		mb = mailboxOf(u, addr)
	}
	_, byDirectory := t.directoryUserLocked(addr)
	t.mu.Unlock()
	if byDirectory {
		t.stats.count(nil, RouteUser, http.StatusOK, 0)
	} else {
		// The directory answers 404 for anything but an ID or a UPN; the
		// client then searches the proxy addresses.
		t.stats.count(nil, RouteUser, http.StatusNotFound, 0)
		t.stats.count(nil, RouteUsers, http.StatusOK, 0)
		if !found || u.Mail == "" {
			e := s.fail(op, http.StatusNotFound, "Request_ResourceNotFound", "")
			e.Message = fmt.Sprintf("no user or shared mailbox has the address %s as UPN, primary address or alias", addr)
			return graph.Mailbox{}, e
		}
	}
	// Open the mailbox, as GET .../mailFolders/inbox does.
	err := s.request(ctx, "open mailbox "+addr, mb.ID, RouteMailFolder, func(*mailbox, bool) (int64, error) { return 0, nil })
	if err != nil {
		return mb, err
	}
	return mb, nil
}

// mailboxOf describes a directory user as the client sees it.
func mailboxOf(u *user, asked string) graph.Mailbox {
	mb := graph.Mailbox{ID: u.ID, UserPrincipalName: u.UPN, Address: strings.ToLower(u.Mail), DisplayName: u.DisplayName}
	if u.Mail != "" {
		for _, a := range u.Aliases {
			if a != mb.Address {
				mb.Aliases = append(mb.Aliases, strings.ToLower(a))
			}
		}
	}
	switch {
	case eq(asked, u.UPN), eq(asked, u.ID):
		mb.ResolvedVia = "upn"
	case eq(asked, u.Mail):
		mb.ResolvedVia = "mail"
	default:
		mb.ResolvedVia = "alias"
	}
	return mb
}

// ListFolders returns the folder tree under the top of the information
// store, hidden folders included, each parent before its children and
// siblings by name, then Recoverable Items/Deletions: what the HTTP
// client gathers from mailFolders, childFolders and the well-known names.
func (s *Source) ListFolders(ctx context.Context, mbx graph.Mailbox) ([]graph.Folder, error) {
	t := s.t
	var out []graph.Folder
	err := s.request(ctx, "list folders", mbx.ID, RouteMailFolders, func(mb *mailbox, _ bool) (int64, error) {
		t.mu.Lock()
		defer t.mu.Unlock()
		out = out[:0]
		var walk func(f *folder)
		walk = func(f *folder) {
			for _, k := range mb.children(f, true) {
				out = append(out, s.folderOf(mb, k))
				walk(k)
			}
		}
		walk(mb.folders[0])
		for _, f := range mb.folders {
			if f.wellKnown == "recoverableitemsdeletions" {
				out = append(out, s.folderOf(mb, f))
			}
		}
		return 0, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Source) folderOf(mb *mailbox, f *folder) graph.Folder {
	fi := s.t.folderInfoLocked(mb, f)
	return graph.Folder{
		ID: fi.ID, ParentID: fi.ParentID, DisplayName: fi.DisplayName, Path: fi.Path,
		WellKnownName: fi.WellKnownName, Hidden: fi.Hidden, ChildCount: fi.ChildCount, TotalCount: int64(fi.TotalCount),
	}
}

// Delta runs one delta round of the folder's messages, a page per
// request, with the tokens of the HTTP route: the returned cursor is the
// round's $deltatoken (a deltaLink of the HTTP route is accepted too), and
// an expired or invalidated token gives KindSyncStateGone.
func (s *Source) Delta(ctx context.Context, mbx graph.Mailbox, f graph.Folder, cursor string, page func(graph.DeltaPage) error) (string, error) {
	const op = "delta"
	if f.ID == "" {
		return "", &graph.Error{Op: op, Kind: graph.KindMalformedID, Message: "empty folder ID"}
	}
	tok, isDelta := "", false
	if cursor != "" {
		tok, isDelta = tokenOfLink(cursor), true
	}
	for {
		var p graph.DeltaPage
		var next string
		var done bool
		err := s.request(ctx, op, mbx.ID, RouteDelta, func(mb *mailbox, _ bool) (int64, error) {
			var fl *failure
			p, next, done, fl = s.deltaPage(mb, f.ID, tok, isDelta)
			if fl != nil {
				return 0, s.errorOf(op, fl)
			}
			return 0, nil
		})
		if err != nil {
			return "", err
		}
		if err := page(p); err != nil {
			return "", err
		}
		if done {
			return next, nil
		}
		tok, isDelta = next, false
		if err := ctx.Err(); err != nil {
			return "", canceled(op, err)
		}
	}
}

// List pages through the folder's messages as the plain listing route
// does, a page per request; a full mailbox still answers it.
func (s *Source) List(ctx context.Context, mbx graph.Mailbox, f graph.Folder, page func(graph.DeltaPage) error) error {
	const op = "list messages"
	size := s.t.pageSize(s.opts.PageSize)
	for pos := 0; ; {
		var p graph.DeltaPage
		done := false
		err := s.request(ctx, op, mbx.ID, RouteMessages, func(mb *mailbox, _ bool) (int64, error) {
			t := s.t
			t.mu.Lock()
			defer t.mu.Unlock()
			fo, fl := t.folderByKeyLocked(mb, f.ID)
			if fl != nil {
				return 0, s.errorOf(op, fl)
			}
			for n := 0; pos < len(fo.serials) && n < size; pos++ {
				sr := fo.serials[pos]
				if m := &mb.msgs[sr]; m.folder != fo.idx || m.flags&flagGone != 0 {
					continue
				}
				p.Messages = append(p.Messages, t.deltaMessageLocked(mb, sr))
				n++
			}
			done = pos >= len(fo.serials)
			return 0, nil
		})
		if err != nil {
			return err
		}
		if err := page(p); err != nil {
			return err
		}
		if done {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return canceled(op, err)
		}
	}
}

// deltaPage serves one page of a folder's message delta, as serveDelta
// does for HTTP: removals of the round first, then items by serial, with
// the same tokens, duplicates and expiry.
func (s *Source) deltaPage(mb *mailbox, folderKey, tok string, isDelta bool) (graph.DeltaPage, string, bool, *failure) {
	t := s.t
	size := t.pageSize(s.opts.PageSize)
	t.mu.Lock()
	defer t.mu.Unlock()
	var p graph.DeltaPage
	if mb.full {
		return p, "", false, quotaExceeded()
	}
	f, fl := t.folderByKeyLocked(mb, folderKey)
	if fl != nil {
		return p, "", false, fl
	}
	var st deltaState
	if tok != "" {
		var why deltaResume
		st, why = t.resumeDeltaLocked(mb, f, tok, isDelta, true)
		if fl := t.resumeFailure(why, st); fl != nil {
			return p, "", false, fl
		}
	} else {
		st = deltaState{mbx: mb.idx, folder: f.idx, round: mb.seq, phase: 1}
	}
	step := t.stepDeltaLocked(mb, f, st, size, true)
	if step.replay >= 0 {
		p.Messages = append(p.Messages, t.deltaMessageLocked(mb, uint32(step.replay)))
	}
	for _, tb := range step.removed {
		p.Removed = append(p.Removed, graph.Removal{ID: t.messageID(immutableID, mb.idx, tb.serial, 0), Reason: reasonName(tb.reason)})
	}
	for _, sr := range step.items {
		p.Messages = append(p.Messages, t.deltaMessageLocked(mb, sr))
	}
	return p, t.encodeDelta(step.next), step.done, nil
}

// deltaMessageLocked is a message as a delta page reports it.
func (t *Tenant) deltaMessageLocked(mb *mailbox, serial uint32) graph.Message {
	m := &mb.msgs[serial]
	md := t.metaLocked(mb, serial, false)
	msg := graph.Message{
		ID:             t.messageID(immutableID, mb.idx, serial, 0),
		ParentFolderID: mb.folders[m.folder].id,
		Subject:        md.subject,
		From:           md.fromAddr,
		Received:       time.Unix(m.received, 0).UTC(),
		LastModified:   time.Unix(m.modified, 0).UTC(),
		IsDraft:        m.flags&flagDraft != 0,
		ConversationID: t.conversationID(mb, serial, md.subject),
		ChangeKey:      changeKeyOf(m),
	}
	if md.msgID != "" {
		msg.InternetMessageID = "<" + md.msgID + ">"
	}
	if !md.sent.IsZero() {
		msg.Sent = md.sent.UTC().Truncate(time.Second)
	}
	if msg.ItemClass = t.classes[m.class]; unsent(msg.ItemClass) {
		msg.InternetMessageID, msg.Sent, msg.From = "", time.Time{}, ""
	}
	return msg
}

// FetchMIME writes the bytes $value serves. An injected truncation writes
// half of them and fails with KindTransient, as a cut connection does.
func (s *Source) FetchMIME(ctx context.Context, mbx graph.Mailbox, messageID string, w io.Writer) (int64, error) {
	const op = "fetch $value"
	if messageID == "" {
		return 0, &graph.Error{Op: op, Kind: graph.KindMalformedID, Message: "empty message ID"}
	}
	t := s.t
	var written int64
	err := s.request(ctx, op, mbx.ID, RouteValue, func(mb *mailbox, cut bool) (int64, error) {
		t.mu.Lock()
		sr, fl := t.liveMessageLocked(mb, messageID)
		if fl != nil {
			t.mu.Unlock()
			return 0, s.errorOf(op, fl)
		}
		sn := t.snapLocked(mb, sr)
		t.mu.Unlock()
		l := sn.meta(true).layout
		if cut {
			// Content-Length announced, half sent, connection closed.
			size := l.size()
			cw := &countWriter{w: w}
			_, _ = l.writeTo(&cutWriter{w: cw, left: size / 2})
			written = cw.n
			if cw.err != nil {
				return cw.n, writeFailed(op, cw.n, cw.err)
			}
			return cw.n, &graph.Error{Op: op, Kind: graph.KindTransient, Status: http.StatusOK,
				Message: fmt.Sprintf("message body has %d bytes, the server announced %d", cw.n, size)}
		}
		cw := &countWriter{w: w}
		n, err := l.writeTo(cw)
		written = cw.n
		if err != nil {
			return n, writeFailed(op, cw.n, err)
		}
		return n, nil
	})
	return written, err
}

func writeFailed(op string, n int64, err error) *graph.Error {
	return &graph.Error{Op: op, Kind: graph.KindOther, Status: http.StatusOK,
		Message: fmt.Sprintf("writing the message failed after %d bytes: %v", n, err), Err: err}
}

// countWriter counts what reached w and keeps its first error.
type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	k, err := c.w.Write(p)
	c.n += int64(k)
	if err != nil && c.err == nil {
		c.err = err
	}
	return k, err
}

// errRefresh stands for a 401 an HTTP client answers by refreshing its
// token once and sending the request again.
var errRefresh = errors.New("graphsim: access token revoked")

// request runs one request of a mailbox route with retries: see
// SourceOptions.Retries. serve answers the request; cut asks it for an
// injected truncated body.
func (s *Source) request(ctx context.Context, op, key string, route Route, serve func(mb *mailbox, cut bool) (int64, error)) error {
	wait := s.opts.RetryWait
	refreshed := false
	for attempt := 0; ; attempt++ {
		err, retryable := s.once(ctx, op, key, route, serve)
		if err == nil {
			return nil
		}
		if errors.Is(err, errRefresh) {
			if refreshed {
				return &graph.Error{Op: op, Kind: graph.KindTokenExpired, Status: http.StatusUnauthorized,
					Code: "InvalidAuthenticationToken", Message: "Access token has expired or is not yet valid."}
			}
			refreshed = true
			continue
		}
		var ge *graph.Error
		if !retryable || attempt >= s.opts.Retries || !errors.As(err, &ge) || !ge.Kind.Retryable() {
			return err
		}
		d := max(ge.RetryAfter, wait)
		wait = min(2*wait, time.Second)
		select {
		case <-ctx.Done():
			return canceled(op, ctx.Err())
		case <-s.t.clock.After(d):
		}
	}
}

// once sends one request through the tenant's admission (see admit),
// then serve. It reports whether a failure may be retried as it is.
func (s *Source) once(ctx context.Context, op, key string, route Route, serve func(mb *mailbox, cut bool) (int64, error)) (error, bool) {
	t := s.t
	if err := ctx.Err(); err != nil {
		return canceled(op, err), false
	}
	if s.lim != nil {
		release, err := s.lim.Acquire(ctx, strings.ToLower(key))
		if err != nil {
			return canceled(op, err), false
		}
		defer release()
	}
	status := http.StatusOK
	var bytes int64
	var mb *mailbox
	defer func() { t.stats.count(mb, route, status, bytes) }()
	tok, a := s.token()
	adm, fl := t.admit(ctx, tok, a, key, route, "")
	defer t.done(adm)
	mb = adm.mb
	if fl != nil {
		status = fl.status
		switch {
		case fl.left:
			status = http.StatusOK
			return canceled(op, ctx.Err()), false
		case fl.status == http.StatusUnauthorized:
			return errRefresh, true
		}
		e := s.errorOf(op, fl)
		if e.RetryAfter > 0 && s.lim != nil && graph.PausesMailbox(e) {
			s.lim.Pause(strings.ToLower(key), t.now().Add(e.RetryAfter))
		}
		return e, true
	}
	n, err := serve(mb, adm.cut)
	bytes = n
	if err != nil {
		var ge *graph.Error
		if errors.As(err, &ge) && ge.Status != 0 {
			status = ge.Status
		}
		return err, false
	}
	return nil, false
}

// token is the access token the Source presents: its app's roles, as the
// client credentials grant issues them. The app is nil when it is not
// registered.
func (s *Source) token() (*accessToken, *app) {
	t := s.t
	t.mu.Lock()
	defer t.mu.Unlock()
	a := t.apps[s.opts.ClientID]
	if a == nil {
		return &accessToken{}, nil
	}
	return &accessToken{clientID: a.ClientID, roles: a.Roles}, a
}

// fail makes the classified error an HTTP answer with this status and
// code would give, with a fresh request ID.
func (s *Source) fail(op string, status int, code, message string) *graph.Error {
	return &graph.Error{Op: op, Kind: graph.Classify(status, code), Status: status, Code: code, Message: message, RequestID: s.t.newRequestID()}
}

// errorOf is the classified error the HTTP client makes of a failure.
func (s *Source) errorOf(op string, fl *failure) *graph.Error {
	if fl.reset {
		return &graph.Error{Op: op, Kind: graph.KindTransient, Message: "the connection was reset before a response",
			Err: errors.New("connection reset by peer")}
	}
	e := s.fail(op, fl.status, fl.code, fl.message)
	e.RetryAfter = fl.retryAfter
	return e
}

func canceled(op string, err error) *graph.Error {
	return &graph.Error{Op: op, Kind: graph.KindCanceled, Err: err}
}

// ListFoldersKnowing is ListFolders with what it learned of the mailbox's
// well-known folders. The simulator knows its folders, so known changes
// nothing but what is learned: the IDs of graph.WellKnownNames ("" for a
// name the mailbox lacks) and the digest of the tree listed.
func (s *Source) ListFoldersKnowing(ctx context.Context, mbx graph.Mailbox, known graph.WellKnownFolders) ([]graph.Folder, graph.WellKnownFolders, error) {
	out, err := s.ListFolders(ctx, mbx)
	if err != nil {
		return nil, graph.WellKnownFolders{}, err
	}
	learned := graph.WellKnownFolders{IDs: map[string]string{}}
	for _, name := range graph.WellKnownNames {
		learned.IDs[name] = ""
	}
	var tree []string
	for _, f := range out {
		if f.WellKnownName != "recoverableitemsdeletions" {
			tree = append(tree, f.ID)
		}
		if _, ok := learned.IDs[f.WellKnownName]; ok && f.WellKnownName != "" {
			learned.IDs[f.WellKnownName] = f.ID
		}
	}
	if len(out) > 0 && out[0].WellKnownName != "recoverableitemsdeletions" {
		learned.IDs["msgfolderroot"] = out[0].ParentID // the top level's parent
	}
	learned.Tree = graph.TreeDigest(tree)
	return out, learned, nil
}
