package graphsim

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
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
	page := t.cfg.DeltaPageSize
	if p.maxPage > 0 {
		page = min(p.maxPage, 1000)
	}
	v := q.r.URL.Query()
	t.mu.Lock()
	mb := q.mb
	if mb.full {
		t.mu.Unlock()
		q.fail(http.StatusInsufficientStorage, "ErrorQuotaExceeded", "Cannot save changes made to an item to store.")
		return
	}
	f, ok := t.resolveFolderLocked(q, key)
	if !ok {
		t.mu.Unlock()
		return
	}
	initial := q.folderPath(f) + "/messages/delta"
	var st deltaState
	skip, dtok := v.Get("$skiptoken"), v.Get("$deltatoken")
	if skip != "" || dtok != "" {
		tok := skip
		if tok == "" {
			tok = dtok
		}
		s, ok := t.decodeDelta(tok)
		if !ok || s.mbx != mb.idx || s.folder != f.idx || s.delta != (dtok != "") || (skip != "" && dtok != "") {
			t.mu.Unlock()
			q.fail(http.StatusBadRequest, "ErrorInvalidUrlQuery", "The delta or skip token is malformed or belongs to another folder. Follow @odata.nextLink and @odata.deltaLink verbatim.")
			return
		}
		age := t.now().Sub(time.Unix(0, s.issued))
		if t.expiredLinks[tok] || s.epoch != mb.epoch || (t.cfg.DeltaTokenMaxAge > 0 && age > t.cfg.DeltaTokenMaxAge) {
			t.mu.Unlock()
			q.w.Header().Set("Location", initial)
			q.fail(http.StatusGone, t.syncResetCode(), "The sync state generation is not found; generation="+strconv.FormatUint(uint64(s.round), 10)+". Start a new synchronization without a token.")
			return
		}
		if t.cfg.StrictDeltaIDType && s.immutable != p.immutable {
			t.mu.Unlock()
			q.w.Header().Set("Location", initial)
			q.fail(http.StatusGone, "SyncStateInvalid", "The sync state is invalid: the token was issued under another Prefer IdType. Start a new synchronization without a token.")
			return
		}
		st = s
		if st.delta {
			st = deltaState{mbx: mb.idx, folder: f.idx, base: s.round, round: mb.seq, phase: 0, sel: s.sel}
		}
	} else {
		sel, bad, ok := parseMessageSelect(v.Get("$select"))
		if !ok {
			t.mu.Unlock()
			q.fail(http.StatusBadRequest, "RequestBroker--ParseUri", "Could not find a property named '"+bad+"' on type 'microsoft.graph.message'.")
			return
		}
		st = deltaState{mbx: mb.idx, folder: f.idx, round: mb.seq, phase: 1, sel: sel}
	}
	inRound := func(m *message) bool {
		return m.folder == f.idx && m.flags&flagGone == 0 && m.changeSeq > st.base && m.changeSeq <= st.round
	}
	items := []jobj{}
	// A replay: the last item of the previous page comes again.
	if st.phase == 1 && st.pos > 0 && t.cfg.DuplicateRate > 0 {
		last := st.pos - 1
		if int(last) < len(mb.msgs) && inRound(&mb.msgs[last]) &&
			unit(mix(uint64(t.cfg.Seed), uint64(mb.idx), uint64(f.idx), uint64(st.round), uint64(last), 0xd0)) < t.cfg.DuplicateRate {
			items = append(items, t.messageJSON(mb, last, st.sel, p.immutable, true))
		}
	}
	next := st
	done := false
	if st.phase == 0 {
		i := sort.Search(len(f.tombs), func(i int) bool { return f.tombs[i].seq > st.base })
		i = max(i, int(st.pos))
		for ; i < len(f.tombs) && f.tombs[i].seq <= st.round && len(items) < page; i++ {
			tb := f.tombs[i]
			if m := &mb.msgs[tb.serial]; inRound(m) {
				continue // it is back in the folder and reported as an item
			}
			items = append(items, jobj{
				{"@odata.type", "#microsoft.graph.message"},
				{"id", t.publicMessageID(mb, tb.serial, tb.gen, p.immutable)},
				{"@removed", jobj{{"reason", reasonName(tb.reason)}}},
			})
		}
		if i < len(f.tombs) && f.tombs[i].seq <= st.round {
			next.phase, next.pos = 0, uint32(i)
		} else {
			next.phase, next.pos = 1, 0
		}
	}
	if next.phase == 1 && len(items) < page {
		j := sort.Search(len(f.serials), func(j int) bool { return f.serials[j] >= next.pos })
		for ; j < len(f.serials) && len(items) < page; j++ {
			if s := f.serials[j]; inRound(&mb.msgs[s]) {
				items = append(items, t.messageJSON(mb, s, st.sel, p.immutable, true))
				next.pos = s + 1
			}
		}
		for ; j < len(f.serials) && !inRound(&mb.msgs[f.serials[j]]); j++ {
		}
		done = j >= len(f.serials)
	}
	t.nonce++
	next.issued, next.epoch, next.nonce, next.immutable = t.now().UnixNano(), mb.epoch, t.nonce, p.immutable
	linkKey, link := "@odata.nextLink", ""
	if done {
		next = deltaState{mbx: mb.idx, folder: f.idx, round: st.round, sel: st.sel, delta: true,
			issued: next.issued, epoch: next.epoch, nonce: next.nonce, immutable: p.immutable}
		linkKey, link = "@odata.deltaLink", initial+"?$deltatoken="+t.encodeDelta(next)
	} else {
		link = initial + "?$skiptoken=" + t.encodeDelta(next)
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
	page := t.cfg.DeltaPageSize
	if p.maxPage > 0 {
		page = min(p.maxPage, 1000)
	}
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

func (t *Tenant) syncResetCode() string {
	if t.cfg.SyncResetCode != "" {
		return t.cfg.SyncResetCode
	}
	return "SyncStateNotFound"
}
