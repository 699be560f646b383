package graphsim

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// serveDelta runs one page of a folder's message delta.
//
// A round covers the changes with base < seq <= round, round being the
// mailbox's change sequence when the round started: first the removals
// (tombstones), then the items added, moved in or edited, by serial. The
// state travels in the opaque token, so pages stay consistent while the
// mailbox changes; what changes during a round shows up in the next one.
func (t *Tenant) serveDelta(q *request, key string) {
	if rejectQuery(q, "message delta") {
		return
	}
	p := parsePrefer(q.r)
	page := t.pageSize(p.maxPage)
	v := q.r.URL.Query()
	skip, dtok := v.Get("$skiptoken"), v.Get("$deltatoken")
	var sel uint64
	if skip == "" && dtok == "" {
		// The first request's query options travel in the tokens after it.
		var ok bool
		if sel, ok = messageSelection(q); !ok {
			return
		}
	}
	t.mu.Lock()
	mb := q.mb
	if mb.full {
		t.mu.Unlock()
		q.answer(quotaExceeded())
		return
	}
	f, ok := t.resolveFolderLocked(q, key)
	if !ok {
		t.mu.Unlock()
		return
	}
	initial := q.folderPath(f) + "/messages/delta"
	var st deltaState
	if skip != "" || dtok != "" {
		why := resumeMalformed
		if skip == "" || dtok == "" {
			st, why = t.resumeDeltaLocked(mb, f, skip+dtok, dtok != "", p.immutable)
		}
		if fl := t.resumeFailure(why, st); fl != nil {
			t.mu.Unlock()
			if fl.status == http.StatusGone {
				q.w.Header().Set("Location", initial)
			}
			q.answer(fl)
			return
		}
	} else {
		st = deltaState{mbx: mb.idx, folder: f.idx, round: mb.seq, phase: 1, sel: sel}
	}
	step := t.stepDeltaLocked(mb, f, st, page, p.immutable)
	items := []jobj{}
	if step.replay >= 0 {
		items = append(items, t.messageJSON(mb, uint32(step.replay), st.sel, p.immutable, true))
	}
	for _, tb := range step.removed {
		items = append(items, jobj{
			{"@odata.type", "#microsoft.graph.message"},
			{"id", t.publicMessageID(mb, tb.serial, tb.gen, p.immutable)},
			{"@removed", jobj{{"reason", reasonName(tb.reason)}}},
		})
	}
	for _, s := range step.items {
		items = append(items, t.messageJSON(mb, s, st.sel, p.immutable, true))
	}
	linkKey, link := "@odata.nextLink", initial+"?$skiptoken="+t.encodeDelta(step.next)
	if step.done {
		linkKey, link = "@odata.deltaLink", initial+"?$deltatoken="+t.encodeDelta(step.next)
	}
	t.mu.Unlock()
	if p.maxPage > 0 {
		q.applyPrefs(p, page)
	} else {
		q.applyPrefs(p, 0)
	}
	q.writeJSON(http.StatusOK, jobj{
		{"@odata.context", q.graphBase() + "/$metadata#Collection(message)"},
		{linkKey, link},
		{"value", items},
	})
}

// folderDeltaMarker stands for "all folders" in a folder-delta token.
const folderDeltaMarker = ^uint32(0)

// serveFolderDelta lists the folders of the IPM subtree flat, hidden ones
// included; later rounds list the folders created or whose contents
// changed since. Folders are never deleted in the simulator, so no
// @removed entries come.
func (t *Tenant) serveFolderDelta(q *request) {
	if rejectQuery(q, "folder delta") {
		return
	}
	p := parsePrefer(q.r)
	page := t.pageSize(p.maxPage)
	v := q.r.URL.Query()
	t.mu.Lock()
	mb := q.mb
	initial := q.graphBase() + "/users/" + url.PathEscape(q.userKey) + "/mailFolders/delta"
	st := deltaState{mbx: mb.idx, folder: folderDeltaMarker, round: mb.seq, phase: 1}
	skip, dtok := v.Get("$skiptoken"), v.Get("$deltatoken")
	if tok := skip + dtok; tok != "" {
		s, ok := t.decodeDelta(tok)
		if !ok || s.mbx != mb.idx || s.folder != folderDeltaMarker || s.delta != (dtok != "") || (skip != "" && dtok != "") {
			t.mu.Unlock()
			q.fail(http.StatusBadRequest, "ErrorInvalidUrlQuery", "The delta or skip token is malformed or belongs to another request. Follow @odata.nextLink and @odata.deltaLink verbatim.")
			return
		}
		if t.expiredLinks[tok] || s.epoch != mb.epoch || (t.cfg.DeltaTokenMaxAge > 0 && t.now().Sub(time.Unix(0, s.issued)) > t.cfg.DeltaTokenMaxAge) {
			t.mu.Unlock()
			q.w.Header().Set("Location", initial)
			q.fail(http.StatusGone, t.syncResetCode(), "The sync state generation is not found. Start a new synchronization without a token.")
			return
		}
		st = s
		if s.delta {
			st = deltaState{mbx: mb.idx, folder: folderDeltaMarker, base: s.round, round: mb.seq, phase: 1}
		}
	}
	items := []jobj{}
	i := int(st.pos)
	for ; i < len(mb.folders) && len(items) < page; i++ {
		f := mb.folders[i]
		if f.wellKnown == "msgfolderroot" || !mb.inIPM(f) || f.changeSeq > st.round || (st.base > 0 && f.changeSeq <= st.base) {
			continue
		}
		items = append(items, append(jobj{{"@odata.type", "#microsoft.graph.mailFolder"}}, t.folderJSON(mb, f, nil)...))
	}
	t.nonce++
	next := st
	next.pos, next.issued, next.epoch, next.nonce = uint32(i), t.now().UnixNano(), mb.epoch, t.nonce
	linkKey, link := "@odata.nextLink", ""
	if i >= len(mb.folders) {
		next = deltaState{mbx: mb.idx, folder: folderDeltaMarker, round: st.round, delta: true, issued: next.issued, epoch: next.epoch, nonce: next.nonce}
		linkKey, link = "@odata.deltaLink", initial+"?$deltatoken="+t.encodeDelta(next)
	} else {
		link = initial + "?$skiptoken=" + t.encodeDelta(next)
	}
	t.mu.Unlock()
	if p.maxPage > 0 {
		q.applyPrefs(p, page)
	}
	q.writeJSON(http.StatusOK, jobj{
		{"@odata.context", q.graphBase() + "/$metadata#Collection(mailFolder)"},
		{linkKey, link},
		{"value", items},
	})
}

// pageSize is the page size of a delta or a listing when the client asks
// for asked (odata.maxpagesize; 0: not asked).
func (t *Tenant) pageSize(asked int) int {
	if asked > 0 {
		return min(asked, 1000)
	}
	return t.cfg.DeltaPageSize
}

func quotaExceeded() *failure {
	return failWith(http.StatusInsufficientStorage, "ErrorQuotaExceeded", "Cannot save changes made to an item to store.")
}

// resumeFailure is the answer to a token that cannot continue a round
// (why, from resumeDeltaLocked), or nil when it can.
func (t *Tenant) resumeFailure(why deltaResume, st deltaState) *failure {
	switch why {
	case resumeMalformed:
		return failWith(http.StatusBadRequest, "ErrorInvalidUrlQuery", "The delta or skip token is malformed or belongs to another folder. Follow @odata.nextLink and @odata.deltaLink verbatim.")
	case resumeGone:
		return failWith(http.StatusGone, t.syncResetCode(), "The sync state generation is not found; generation="+strconv.FormatUint(uint64(st.round), 10)+". Start a new synchronization without a token.")
	case resumeIDType:
		return failWith(http.StatusGone, "SyncStateInvalid", "The sync state is invalid: the token was issued under another Prefer IdType. Start a new synchronization without a token.")
	}
	return nil
}

func (t *Tenant) syncResetCode() string {
	if t.cfg.SyncResetCode != "" {
		return t.cfg.SyncResetCode
	}
	return "SyncStateNotFound"
}

// deltaResume is why a delta or skip token cannot continue a round.
type deltaResume int

const (
	resumeOK        deltaResume = iota
	resumeMalformed             // not a token of this folder, or the wrong kind
	resumeGone                  // expired, invalidated, or from before a reset
	resumeIDType                // issued under another Prefer IdType (StrictDeltaIDType)
)

// resumeDeltaLocked turns a token into the state of the round it
// continues: a skip token resumes a round, a delta token starts the next
// one from where its round ended.
func (t *Tenant) resumeDeltaLocked(mb *mailbox, f *folder, tok string, isDelta, immutable bool) (deltaState, deltaResume) {
	d, ok := t.decodeDelta(tok)
	if !ok || d.mbx != mb.idx || d.folder != f.idx || d.delta != isDelta {
		return d, resumeMalformed
	}
	age := t.now().Sub(time.Unix(0, d.issued))
	if t.expiredLinks[tok] || d.epoch != mb.epoch || (t.cfg.DeltaTokenMaxAge > 0 && age > t.cfg.DeltaTokenMaxAge) {
		return d, resumeGone
	}
	if t.cfg.StrictDeltaIDType && d.immutable != immutable {
		return d, resumeIDType
	}
	if d.delta {
		return deltaState{mbx: mb.idx, folder: f.idx, base: d.round, round: mb.seq, phase: 0, sel: d.sel}, resumeOK
	}
	return d, resumeOK
}

// deltaStep is one page of a folder's message delta, as serials: the HTTP
// route renders it as JSON, the in-process Source as graph types.
type deltaStep struct {
	replay  int64    // serial of the previous page's last item, sent again; -1 for none
	removed []tomb   // removals, in order
	items   []uint32 // messages, in order
	next    deltaState
	done    bool
}

// stepDeltaLocked serves one page of at most size entries from st:
// removals of the round first, then the items by serial, with the seeded
// replays; it returns the state the next page (or round) starts from.
func (t *Tenant) stepDeltaLocked(mb *mailbox, f *folder, st deltaState, size int, immutable bool) deltaStep {
	inRound := func(m *message) bool {
		return m.folder == f.idx && m.flags&flagGone == 0 && m.changeSeq > st.base && m.changeSeq <= st.round
	}
	step := deltaStep{replay: -1}
	n := 0
	if st.phase == 1 && st.pos > 0 && t.cfg.DuplicateRate > 0 {
		last := st.pos - 1
		if int(last) < len(mb.msgs) && inRound(&mb.msgs[last]) &&
			unit(mix(uint64(t.cfg.Seed), uint64(mb.idx), uint64(f.idx), uint64(st.round), uint64(last), 0xd0)) < t.cfg.DuplicateRate {
			step.replay = int64(last)
			n++
		}
	}
	next := st
	if st.phase == 0 {
		i := sort.Search(len(f.tombs), func(i int) bool { return f.tombs[i].seq > st.base })
		i = max(i, int(st.pos))
		for ; i < len(f.tombs) && f.tombs[i].seq <= st.round && n < size; i++ {
			tb := f.tombs[i]
			if inRound(&mb.msgs[tb.serial]) {
				continue // it is back in the folder and reported as an item
			}
			step.removed = append(step.removed, tb)
			n++
		}
		if i < len(f.tombs) && f.tombs[i].seq <= st.round {
			next.phase, next.pos = 0, uint32(i)
		} else {
			next.phase, next.pos = 1, 0
		}
	}
	if next.phase == 1 && n < size {
		j := sort.Search(len(f.serials), func(j int) bool { return f.serials[j] >= next.pos })
		for ; j < len(f.serials) && n < size; j++ {
			if s := f.serials[j]; inRound(&mb.msgs[s]) {
				step.items = append(step.items, s)
				next.pos = s + 1
				n++
			}
		}
		for ; j < len(f.serials) && !inRound(&mb.msgs[f.serials[j]]); j++ {
		}
		step.done = j >= len(f.serials)
	}
	t.nonce++
	next.issued, next.epoch, next.nonce, next.immutable = t.now().UnixNano(), mb.epoch, t.nonce, immutable
	if step.done {
		next = deltaState{mbx: mb.idx, folder: f.idx, round: st.round, sel: st.sel, delta: true,
			issued: next.issued, epoch: next.epoch, nonce: next.nonce, immutable: immutable}
	}
	step.next = next
	return step
}

// ExpireDeltaTokens makes every delta and skip token issued so far for the
// mailbox answer 410 SyncStateNotFound.
func (t *Tenant) ExpireDeltaTokens(mailbox string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	mb, err := t.mailboxLocked(mailbox)
	if err != nil {
		return err
	}
	mb.epoch++
	return nil
}

// ExpireDeltaLink makes one deltaLink or nextLink (or its bare token)
// answer 410 SyncStateNotFound.
func (t *Tenant) ExpireDeltaLink(link string) error {
	tok := tokenOfLink(link)
	if _, ok := t.decodeDelta(tok); !ok {
		return fmt.Errorf("graphsim: %q holds no delta or skip token of this tenant", link)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.expiredLinks[tok] = true
	return nil
}

func tokenOfLink(link string) string {
	for _, k := range []string{"$deltatoken=", "$skiptoken=", "%24deltatoken=", "%24skiptoken="} {
		if i := strings.Index(link, k); i >= 0 {
			v := link[i+len(k):]
			if j := strings.IndexByte(v, '&'); j >= 0 {
				v = v[:j]
			}
			return v
		}
	}
	return link
}
