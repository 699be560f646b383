package graphsim

// Messages: what the simulator keeps per message, and the mutations
// between runs (delivery, moves, deletes, draft edits).

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/collect-ediscovery/collect/graph"
)

type tomb struct {
	serial uint32
	seq    uint32
	gen    uint16
	reason uint8
}

const (
	reasonDeleted uint8 = iota
	reasonChanged
)

func reasonName(r uint8) string {
	if r == reasonChanged {
		return "changed"
	}
	return "deleted"
}

// message is all the simulator keeps per message: the bytes are generated
// from the tenant seed, the mailbox and the serial (and version) on demand.
type message struct {
	received  int64 // Unix seconds
	modified  int64 // Unix seconds
	folder    uint32
	changeSeq uint32
	size      uint32 // requested size of a large message; 0: natural
	raw       int32  // 1-based index into Tenant.raws; 0: generated
	gen       uint16 // bumped by every move: part of the regular ID
	version   uint16 // bumped by every draft edit
	flags     uint8
	class     uint8 // index into Tenant.classes
}

const (
	flagDraft uint8 = 1 << iota
	flagRead
	flagGone
	flagCustom  // spec in mailbox.specs
	flagFlagged // follow-up flag set
)

// changeKeyOf is the message's changeKey: it changes with every change of
// the message (an edit, a move, a flag, a category), as Exchange's does.
func changeKeyOf(m *message) string {
	var ck [8]byte
	binary.BigEndian.PutUint16(ck[0:], m.version)
	binary.BigEndian.PutUint16(ck[2:], m.gen)
	binary.BigEndian.PutUint32(ck[4:], m.changeSeq)
	return "CQAAABYAAA" + base64.StdEncoding.EncodeToString(ck[:])
}

type rawMessage struct {
	data      string // verbatim, never changed
	hasAttach bool
	path      string
	subject   string
	from      string
	msgID     string
	date      time.Time
}

// Deliver adds one message to a folder.
func (t *Tenant) Deliver(mailbox, folderID string, spec MessageSpec) (MessageRef, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	mb, err := t.mailboxLocked(mailbox)
	if err != nil {
		return MessageRef{}, err
	}
	f, err := t.findFolderLocked(mb, folderID)
	if err != nil {
		return MessageRef{}, err
	}
	received := spec.Received
	if received.IsZero() {
		received = t.now()
	}
	m := message{received: received.Unix()}
	if spec.Draft {
		m.flags |= flagDraft
	}
	if m.class, err = t.classLocked(spec.Class); err != nil {
		return MessageRef{}, err
	}
	if spec.Size > 0 {
		if spec.Size > 1<<32-1 {
			return MessageRef{}, errors.New("graphsim: a message may be at most 4 GB")
		}
		m.size = uint32(spec.Size)
	}
	if spec.MIME != nil {
		rm := parseRaw(spec.MIME, "")
		t.raws = append(t.raws, rm)
		m.raw = int32(len(t.raws))
		if spec.Received.IsZero() && !rm.date.IsZero() {
			m.received = rm.date.Unix()
		}
	}
	serial := t.appendLocked(mb, f, m)
	if spec.Subject != "" || spec.From != "" || spec.To != "" {
		s := spec
		s.MIME = nil
		mb.specs[serial] = &s
		mb.msgs[serial].flags |= flagCustom
	}
	return t.refLocked(mb, serial), nil
}

// appendLocked stores a new message at the end of the mailbox and returns
// its serial.
func (t *Tenant) appendLocked(mb *mailbox, f *folder, m message) uint32 {
	mb.seq++
	serial := uint32(len(mb.msgs))
	m.folder = f.idx
	m.changeSeq = mb.seq
	if m.modified == 0 {
		m.modified = m.received
		if now := t.now().Unix(); now > m.modified {
			m.modified = now
		}
	}
	mb.msgs = append(mb.msgs, m)
	f.serials = append(f.serials, serial)
	f.changeSeq = mb.seq
	return serial
}

// Populate adds generated messages to a folder.
func (t *Tenant) Populate(mailbox, folderID string, p Populate) error {
	if p.Count < 0 || p.Large > p.Count || p.Drafts > p.Count {
		return errors.New("graphsim: Populate needs Count >= Large and Count >= Drafts")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	mb, err := t.mailboxLocked(mailbox)
	if err != nil {
		return err
	}
	f, err := t.findFolderLocked(mb, folderID)
	if err != nil {
		return err
	}
	to := p.To
	if to.IsZero() {
		to = t.now()
	}
	from := p.From
	if from.IsZero() {
		from = to.AddDate(-1, 0, 0)
	}
	if !from.Before(to) {
		return errors.New("graphsim: Populate needs From before To")
	}
	class, err := t.classLocked(p.Class)
	if err != nil {
		return err
	}
	largeSize := p.LargeSize
	if largeSize <= 0 {
		largeSize = 20 << 20
	}
	span := to.Sub(from)
	mb.msgs = slices.Grow(mb.msgs, p.Count)
	f.serials = slices.Grow(f.serials, p.Count)
	for i := 0; i < p.Count; i++ {
		h := mix(uint64(t.cfg.Seed), uint64(mb.idx), uint64(len(mb.msgs)), 0x9090)
		step := span / time.Duration(p.Count)
		at := from.Add(step*time.Duration(i) + time.Duration(h%uint64(max(step, 1))))
		m := message{received: at.Unix(), class: class}
		// Spread the large messages and drafts evenly through the batch.
		if p.Large > 0 && (i*p.Large)%p.Count < p.Large && i*p.Large/p.Count < p.Large {
			m.size = uint32(min(largeSize, 1<<32-1))
		}
		if p.Drafts > 0 && ((i+1)*p.Drafts)%p.Count < p.Drafts {
			m.flags |= flagDraft
		}
		if h>>60 < 10 {
			m.flags |= flagRead
		}
		m.modified = m.received
		t.appendLocked(mb, f, m)
	}
	return nil
}

// AddFixtures adds every .eml file under dir (recursively, in path order)
// to a folder, served byte for byte, and returns how many were added.
func (t *Tenant) AddFixtures(mailbox, folderID, dir string) (int, error) {
	return t.addFixtures(mailbox, folderID, dir, time.Time{}, time.Time{})
}

// addFixtures adds fixtures; with a non-zero span, their received times
// are spread over [from, to) instead of taken from their Date headers.
func (t *Tenant) addFixtures(mailbox, folderID, dir string, from, to time.Time) (int, error) {
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.EqualFold(filepath.Ext(p), ".eml") {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("graphsim: reading fixtures: %w", err)
	}
	sort.Strings(paths)
	raws := make([]*rawMessage, 0, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return 0, fmt.Errorf("graphsim: reading fixture: %w", err)
		}
		raws = append(raws, parseRaw(b, p))
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	mb, err := t.mailboxLocked(mailbox)
	if err != nil {
		return 0, err
	}
	f, err := t.findFolderLocked(mb, folderID)
	if err != nil {
		return 0, err
	}
	for i, rm := range raws {
		t.raws = append(t.raws, rm)
		at := rm.date
		if !from.IsZero() {
			at = from.Add(to.Sub(from) / time.Duration(len(raws)) * time.Duration(i))
		}
		if at.IsZero() {
			h := mix(uint64(t.cfg.Seed), hashString(rm.path))
			at = time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(h%(730*24*3600)) * time.Second)
		}
		m := message{received: at.Unix(), raw: int32(len(t.raws))}
		if i%3 == 0 {
			m.flags |= flagRead
		}
		t.appendLocked(mb, f, m)
	}
	return len(raws), nil
}

// lookupLocked finds a live message by either kind of ID. A regular ID of
// an earlier place of the message is not found, as on Exchange.
func (t *Tenant) lookupLocked(mb *mailbox, id string) (uint32, bool) {
	p, ok := t.parseMessageID(id)
	if !ok || p.mbx != mb.idx || int(p.serial) >= len(mb.msgs) {
		return 0, false
	}
	m := &mb.msgs[p.serial]
	if m.flags&flagGone != 0 || (p.kind == regularID && p.gen != m.gen) {
		return 0, false
	}
	return p.serial, true
}

func (t *Tenant) refLocked(mb *mailbox, serial uint32) MessageRef {
	m := &mb.msgs[serial]
	md := t.metaLocked(mb, serial, true)
	return MessageRef{
		ImmutableID:       t.messageID(immutableID, mb.idx, serial, 0),
		ID:                t.messageID(regularID, mb.idx, serial, m.gen),
		FolderID:          mb.folders[m.folder].id,
		InternetMessageID: md.msgID,
		Subject:           md.subject,
		Received:          time.Unix(m.received, 0).UTC(),
		LastModified:      time.Unix(m.modified, 0).UTC(),
		IsDraft:           m.flags&flagDraft != 0,
		ConversationID:    t.conversationID(mb, serial, md.subject),
		Size:              md.layout.size(),
		ChangeKey:         changeKeyOf(m),
		ItemClass:         t.classes[m.class],
	}
}

// classLocked is the index of an item class ("": IPM.Note), added to the
// tenant's classes when new.
func (t *Tenant) classLocked(class string) (uint8, error) {
	if class == "" {
		return 0, nil
	}
	for i, c := range t.classes {
		if c == class {
			return uint8(i), nil
		}
	}
	if len(t.classes) > 255 {
		return 0, errors.New("graphsim: a tenant holds at most 256 item classes")
	}
	t.classes = append(t.classes, class)
	return uint8(len(t.classes) - 1), nil
}

// unsent reports whether items of the class were never sent by anyone:
// notes, tasks, calendar items and contacts have no sender, no
// Internet message ID and no sent time. Teams chat copies have a sender.
func unsent(class string) bool {
	return !graph.IsMailClass(class) && !strings.HasPrefix(strings.ToLower(class), "ipm.skypeteams")
}

// odataType is the type Graph gives an item of the class on its message
// routes: meeting messages are eventMessages, every other item a message.
func odataType(class string) string {
	c := strings.ToLower(class)
	switch {
	case strings.HasPrefix(c, "ipm.schedule.meeting.request"):
		return "#microsoft.graph.eventMessageRequest"
	case strings.HasPrefix(c, "ipm.schedule.meeting.resp."):
		return "#microsoft.graph.eventMessageResponse"
	case strings.HasPrefix(c, "ipm.schedule.meeting."):
		return "#microsoft.graph.eventMessage"
	}
	return "#microsoft.graph.message"
}

// messageLocked finds a live message of a mailbox by either kind of ID.
func (t *Tenant) messageLocked(address, id string) (*mailbox, uint32, error) {
	mb, err := t.mailboxLocked(address)
	if err != nil {
		return nil, 0, err
	}
	s, ok := t.lookupLocked(mb, id)
	if !ok {
		return nil, 0, fmt.Errorf("graphsim: no message %q: %w", id, ErrNotFound)
	}
	return mb, s, nil
}

// Message returns a message by either kind of ID.
func (t *Tenant) Message(mailbox, id string) (MessageRef, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	mb, s, err := t.messageLocked(mailbox, id)
	if err != nil {
		return MessageRef{}, err
	}
	return t.refLocked(mb, s), nil
}

// Messages lists a folder's messages in the order delta serves them.
func (t *Tenant) Messages(mailbox, folderID string) ([]MessageRef, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	mb, err := t.mailboxLocked(mailbox)
	if err != nil {
		return nil, err
	}
	f, err := t.findFolderLocked(mb, folderID)
	if err != nil {
		return nil, err
	}
	out := make([]MessageRef, 0, len(f.serials))
	for _, s := range f.serials {
		out = append(out, t.refLocked(mb, s))
	}
	return out, nil
}

func removeSerial(s []uint32, v uint32) []uint32 {
	i := sort.Search(len(s), func(i int) bool { return s[i] >= v })
	if i < len(s) && s[i] == v {
		return append(s[:i], s[i+1:]...)
	}
	return s
}

func insertSerial(s []uint32, v uint32) []uint32 {
	i := sort.Search(len(s), func(i int) bool { return s[i] >= v })
	s = append(s, 0)
	copy(s[i+1:], s[i:])
	s[i] = v
	return s
}

// Move moves a message; its regular ID changes, its immutable ID does not.
// The source folder's delta reports it removed ("changed" when it went to
// Deleted Items, from where it can be restored; "deleted" otherwise), the
// destination's reports it as new.
func (t *Tenant) Move(mailbox, id, destFolderID string) (MessageRef, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	mb, s, err := t.messageLocked(mailbox, id)
	if err != nil {
		return MessageRef{}, err
	}
	dst, err := t.findFolderLocked(mb, destFolderID)
	if err != nil {
		return MessageRef{}, err
	}
	m := &mb.msgs[s]
	if m.folder == dst.idx {
		return t.refLocked(mb, s), nil
	}
	reason := reasonDeleted
	if dst.wellKnown == "deleteditems" {
		reason = reasonChanged
	}
	t.removeLocked(mb, s, reason)
	m.gen++
	m.folder = dst.idx
	m.changeSeq = mb.seq
	m.modified = t.now().Unix()
	dst.serials = insertSerial(dst.serials, s)
	dst.changeSeq = mb.seq
	return t.refLocked(mb, s), nil
}

func (t *Tenant) removeLocked(mb *mailbox, s uint32, reason uint8) {
	m := &mb.msgs[s]
	src := mb.folders[m.folder]
	mb.seq++
	src.serials = removeSerial(src.serials, s)
	src.tombs = append(src.tombs, tomb{serial: s, seq: mb.seq, gen: m.gen, reason: reason})
	src.changeSeq = mb.seq
}

// Delete removes a message for good; delta reports it with reason "deleted".
func (t *Tenant) Delete(mailbox, id string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	mb, s, err := t.messageLocked(mailbox, id)
	if err != nil {
		return err
	}
	t.removeLocked(mb, s, reasonDeleted)
	mb.msgs[s].flags |= flagGone
	delete(mb.specs, s)
	return nil
}

// EditDraft changes a draft's content; delta reports it again, with the
// same IDs and a later lastModifiedDateTime, and $value serves new bytes.
func (t *Tenant) EditDraft(mailbox, id string) (MessageRef, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	mb, s, err := t.messageLocked(mailbox, id)
	if err != nil {
		return MessageRef{}, err
	}
	m := &mb.msgs[s]
	if m.flags&flagDraft == 0 {
		return MessageRef{}, fmt.Errorf("graphsim: message %q is not a draft; only drafts can be edited", id)
	}
	if m.raw != 0 {
		return MessageRef{}, fmt.Errorf("graphsim: message %q is served verbatim and cannot be edited", id)
	}
	m.version++
	t.touchLocked(mb, m)
	return t.refLocked(mb, s), nil
}

// touchLocked records a change of a message that stays where it is: delta
// reports it again, with a new changeKey and a later lastModifiedDateTime.
func (t *Tenant) touchLocked(mb *mailbox, m *message) {
	mb.seq++
	m.changeSeq = mb.seq
	mb.folders[m.folder].changeSeq = mb.seq
	mod := t.now().Unix()
	if mod <= m.modified {
		mod = m.modified + 1
	}
	m.modified = mod
}

// Flag sets or clears a message's follow-up flag. Its bytes do not change;
// its changeKey and lastModifiedDateTime do, and delta reports it again.
func (t *Tenant) Flag(addr, id string, flagged bool) (MessageRef, error) {
	return t.change(addr, id, func(mb *mailbox, s uint32, m *message) {
		if flagged {
			m.flags |= flagFlagged
		} else {
			m.flags &^= flagFlagged
		}
	})
}

// Categorize sets a message's categories, as Outlook's color categories.
// Its bytes do not change; its changeKey and lastModifiedDateTime do.
func (t *Tenant) Categorize(addr, id string, categories ...string) (MessageRef, error) {
	return t.change(addr, id, func(mb *mailbox, s uint32, m *message) {
		if mb.categories == nil {
			mb.categories = map[uint32][]string{}
		}
		mb.categories[s] = append([]string(nil), categories...)
	})
}

// change applies fn to a live message and records the change.
func (t *Tenant) change(addr, id string, fn func(mb *mailbox, s uint32, m *message)) (MessageRef, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	mb, s, err := t.messageLocked(addr, id)
	if err != nil {
		return MessageRef{}, err
	}
	m := &mb.msgs[s]
	fn(mb, s, m)
	t.touchLocked(mb, m)
	return t.refLocked(mb, s), nil
}

// MIME returns the exact bytes $value serves for the message.
func (t *Tenant) MIME(mailbox, id string) ([]byte, error) {
	var b strings.Builder
	if _, err := t.WriteMIME(mailbox, id, &b); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}

// WriteMIME streams the exact bytes $value serves for the message.
func (t *Tenant) WriteMIME(mailbox, id string, w io.Writer) (int64, error) {
	t.mu.Lock()
	mb, s, err := t.messageLocked(mailbox, id)
	if err != nil {
		t.mu.Unlock()
		return 0, err
	}
	sn, prepared := t.snapLocked(mb, s), mb.preparedLocked(s)
	t.mu.Unlock()
	return sn.mimeLayout(prepared).writeTo(w)
}

// liveMessageLocked finds the live message a route names, with Graph's
// answer when there is none.
func (t *Tenant) liveMessageLocked(mb *mailbox, id string) (uint32, *failure) {
	if _, ok := t.parseMessageID(id); !ok {
		return 0, malformedID()
	}
	s, ok := t.lookupLocked(mb, id)
	if !ok {
		return 0, itemNotFound()
	}
	return s, nil
}
