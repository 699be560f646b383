package graphsim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
)

// mix is a splitmix64-style hash of its arguments; every "random" choice
// in the simulator is a pure function of the seed and the thing it is
// about, so results never depend on request order.
func mix(vs ...uint64) uint64 {
	h := uint64(0x9e3779b97f4a7c15)
	for _, v := range vs {
		h ^= v + 0x9e3779b97f4a7c15 + (h << 6) + (h >> 2)
		h = splitmix(h)
	}
	return h
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// unit maps a hash to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) / float64(1<<53) }

// Exchange IDs are base64 of a binary entry ID; ours are too, laid out so
// that every ID holds "+", "/" and "=" and clients must escape them.
var (
	regularPrefix   = [4]byte{0x00, 0x03, 0x24, 0x00} // "AAMkA..."
	immutablePrefix = [4]byte{0x00, 0x09, 0x00, 0x2e} // "AAkALg..."
	folderPrefix    = [4]byte{0x00, 0x01, 0x2e, 0x00} // "AAEuA..."
	idMarker        = [3]byte{0xfb, 0xff, 0xbf}       // encodes as "+/+/"
)

const idLen = 22

type msgIDKind int

const (
	regularID msgIDKind = iota
	immutableID
)

func idChecksum(b []byte, tag uint32) byte {
	s := byte(tag) ^ byte(tag>>8) ^ byte(tag>>16) ^ byte(tag>>24)
	for i, c := range b {
		s = s*31 + c + byte(i)
	}
	return s
}

func (t *Tenant) messageID(kind msgIDKind, mbx, serial uint32, gen uint16) string {
	var b [idLen]byte
	if kind == immutableID {
		copy(b[0:4], immutablePrefix[:])
		gen = 0
	} else {
		copy(b[0:4], regularPrefix[:])
	}
	binary.BigEndian.PutUint32(b[4:8], t.tag)
	binary.BigEndian.PutUint32(b[8:12], mbx)
	binary.BigEndian.PutUint32(b[12:16], serial)
	binary.BigEndian.PutUint16(b[16:18], gen)
	copy(b[18:21], idMarker[:])
	b[21] = idChecksum(b[:21], t.tag)
	return base64.StdEncoding.EncodeToString(b[:])
}

type parsedMsgID struct {
	kind   msgIDKind
	mbx    uint32
	serial uint32
	gen    uint16
}

func (t *Tenant) parseMessageID(s string) (parsedMsgID, bool) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != idLen || b[21] != idChecksum(b[:21], t.tag) ||
		binary.BigEndian.Uint32(b[4:8]) != t.tag || string(b[18:21]) != string(idMarker[:]) {
		return parsedMsgID{}, false
	}
	var p parsedMsgID
	switch string(b[0:4]) {
	case string(immutablePrefix[:]):
		p.kind = immutableID
	case string(regularPrefix[:]):
		p.kind = regularID
	default:
		return parsedMsgID{}, false
	}
	p.mbx = binary.BigEndian.Uint32(b[8:12])
	p.serial = binary.BigEndian.Uint32(b[12:16])
	p.gen = binary.BigEndian.Uint16(b[16:18])
	return p, true
}

func (t *Tenant) folderID(mbx, idx uint32) string {
	var b [idLen]byte
	copy(b[0:4], folderPrefix[:])
	binary.BigEndian.PutUint32(b[4:8], t.tag)
	binary.BigEndian.PutUint32(b[8:12], mbx)
	binary.BigEndian.PutUint32(b[12:16], idx)
	b[16], b[17] = 0x00, 0x01
	copy(b[18:21], idMarker[:])
	b[21] = idChecksum(b[:21], t.tag)
	return base64.StdEncoding.EncodeToString(b[:])
}

func (t *Tenant) parseFolderID(s string) (mbx, idx uint32, ok bool) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != idLen || b[21] != idChecksum(b[:21], t.tag) ||
		string(b[0:4]) != string(folderPrefix[:]) || binary.BigEndian.Uint32(b[4:8]) != t.tag {
		return 0, 0, false
	}
	return binary.BigEndian.Uint32(b[8:12]), binary.BigEndian.Uint32(b[12:16]), true
}

// guid formats 16 hash-derived bytes as a version-4-looking GUID.
func guid(h1, h2 uint64) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[0:8], h1)
	binary.BigEndian.PutUint64(b[8:16], h2)
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// threadTopic is a subject without its reply or forward prefix: what the
// Thread-Topic header carries and what ties a reply to its original.
func threadTopic(subject string) string {
	return strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(subject, "Re: "), "RE: "), "Fwd: ")
}

// conversationID is the conversationId served for a message: an opaque,
// stable ID per thread (the messages of one thread topic), or per message
// for one without a subject, which no reply can be told to belong to.
func (t *Tenant) conversationID(mb *mailbox, serial uint32, subject string) string {
	key := "topic:" + threadTopic(subject)
	if threadTopic(subject) == "" {
		key = "message:" + t.messageID(immutableID, mb.idx, serial, 0)
	}
	return base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint64([]byte{0, 0, 0x51}, hashString(key)))
}

func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// deltaState is what a $skiptoken or $deltatoken carries. Tokens are
// self-contained and authenticated with a key derived from the seed, so
// the server keeps nothing per round.
type deltaState struct {
	mbx, folder uint32
	base, round uint32 // changes with base < seq <= round belong to the round
	phase       uint8  // 0: removals, 1: items
	pos         uint32 // next tombstone index (phase 0), last serial sent (phase 1)
	sel         uint64 // $select bit mask; 0: default fields
	issued      int64  // UnixNano on the simulator's clock
	epoch       uint32 // the mailbox's token epoch when issued
	nonce       uint32
	delta       bool // a $deltatoken (start of the next round) rather than a $skiptoken
	immutable   bool // issued to a request that preferred immutable IDs
}

const deltaStateLen = 4 + 4 + 4 + 4 + 1 + 4 + 8 + 8 + 4 + 4 + 1

func (t *Tenant) encodeDelta(s deltaState) string {
	b := make([]byte, 0, deltaStateLen+12)
	b = binary.BigEndian.AppendUint32(b, s.mbx)
	b = binary.BigEndian.AppendUint32(b, s.folder)
	b = binary.BigEndian.AppendUint32(b, s.base)
	b = binary.BigEndian.AppendUint32(b, s.round)
	b = append(b, s.phase)
	b = binary.BigEndian.AppendUint32(b, s.pos)
	b = binary.BigEndian.AppendUint64(b, s.sel)
	b = binary.BigEndian.AppendUint64(b, uint64(s.issued))
	b = binary.BigEndian.AppendUint32(b, s.epoch)
	b = binary.BigEndian.AppendUint32(b, s.nonce)
	var flags byte
	if s.delta {
		flags |= 1
	}
	if s.immutable {
		flags |= 2
	}
	b = append(b, flags)
	m := hmac.New(sha256.New, t.key)
	m.Write(b)
	b = append(b, m.Sum(nil)[:12]...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (t *Tenant) decodeDelta(tok string) (deltaState, bool) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimSpace(tok))
	if err != nil || len(b) != deltaStateLen+12 {
		return deltaState{}, false
	}
	m := hmac.New(sha256.New, t.key)
	m.Write(b[:deltaStateLen])
	if !hmac.Equal(m.Sum(nil)[:12], b[deltaStateLen:]) {
		return deltaState{}, false
	}
	var s deltaState
	s.mbx = binary.BigEndian.Uint32(b[0:])
	s.folder = binary.BigEndian.Uint32(b[4:])
	s.base = binary.BigEndian.Uint32(b[8:])
	s.round = binary.BigEndian.Uint32(b[12:])
	s.phase = b[16]
	s.pos = binary.BigEndian.Uint32(b[17:])
	s.sel = binary.BigEndian.Uint64(b[21:])
	s.issued = int64(binary.BigEndian.Uint64(b[29:]))
	s.epoch = binary.BigEndian.Uint32(b[37:])
	s.nonce = binary.BigEndian.Uint32(b[41:])
	s.delta = b[45]&1 != 0
	s.immutable = b[45]&2 != 0
	return s, true
}
