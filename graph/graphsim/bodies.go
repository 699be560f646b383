package graphsim

// Prepared bodies: the MIME of a message made once and kept, so that a
// benchmark of a client measures the client and not the simulator's
// generation of bodies.

import "bytes"

// MaxPreparedBody is the largest body PrepareBodies keeps: a larger
// message is still generated while it streams, so that a world with a
// 100 MB message does not hold it in memory.
const MaxPreparedBody = 1 << 20

// preparedBody is a message's MIME as it was when prepared; it is served
// only while the message's version and modification time are those it was
// made from (a draft edit makes new bytes).
type preparedBody struct {
	version  uint16
	modified int64
	data     []byte
}

// PrepareBodies makes the MIME of every message the tenant holds now, up
// to MaxPreparedBody bytes each, and keeps it: $value and WriteMIME then
// copy those bytes instead of generating them on every request. The bytes
// are the same either way. It returns how many bodies it prepared and
// their size in bytes. Messages added later are generated as before.
func (t *Tenant) PrepareBodies() (n int, size int64) {
	t.mu.Lock()
	mbs := append([]*mailbox(nil), t.mailboxes...)
	t.mu.Unlock()
	var buf bytes.Buffer
	for _, mb := range mbs {
		t.mu.Lock()
		count := len(mb.msgs)
		t.mu.Unlock()
		bodies := make([]preparedBody, count)
		for s := range count {
			t.mu.Lock()
			sn := t.snapLocked(mb, uint32(s))
			t.mu.Unlock()
			if sn.m.flags&flagGone != 0 {
				continue
			}
			l := sn.meta(true).layout
			if l.size() > MaxPreparedBody {
				continue
			}
			buf.Reset()
			if _, err := l.writeTo(&buf); err != nil {
				continue // a bytes.Buffer does not fail; nothing is kept if it did
			}
			bodies[s] = preparedBody{version: sn.m.version, modified: sn.m.modified, data: bytes.Clone(buf.Bytes())}
			n++
			size += int64(buf.Len())
		}
		t.mu.Lock()
		mb.bodies = bodies
		t.mu.Unlock()
	}
	return n, size
}

// preparedLocked returns the prepared MIME of the message, or nil when
// there is none or the message changed since.
func (mb *mailbox) preparedLocked(serial uint32) []byte {
	if int(serial) >= len(mb.bodies) {
		return nil
	}
	p := &mb.bodies[serial]
	m := &mb.msgs[serial]
	if p.data == nil || p.version != m.version || p.modified != m.modified {
		return nil
	}
	return p.data
}

// mimeLayout is the layout $value serves for the message: its prepared
// bytes when there are some (prepared from preparedLocked), or the
// generated layout.
func (sn msgSnap) mimeLayout(prepared []byte) layout {
	if prepared != nil {
		return layout{{data: prepared}}
	}
	return sn.meta(true).layout
}
