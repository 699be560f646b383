package state

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Item records are the bulk of a state file, so they use a compact binary
// encoding rather than JSON: a format byte, a flags byte, then fields as
// (tag, value) pairs where the low bit of the tag says whether the value is
// a varint or length-prefixed bytes. Unknown tags are skipped, so a later
// version can add fields without a migration. Hashes are stored as raw
// bytes; times as (seconds, nanoseconds) since the Unix epoch, UTC. The
// mailbox and the item ID are the record's keys and are not repeated.
const itemFormat = 1

const flagCollected = 1 << 0

const (
	wireVarint = 0
	wireBytes  = 1
)

const (
	fInternetMessageID = 1
	fFolderID          = 2
	fFolderPath        = 3
	fReceived          = 4
	fSent              = 5
	fSubject           = 6
	fFrom              = 7
	fSize              = 8
	fSHA256            = 9
	fMD5               = 10
	fSHA1              = 11
	fNative            = 12
	fRunID             = 13
	fCollectedAt       = 14
	fCustodian         = 15
	fSeq               = 16
	fObservation       = 17
	fVersion           = 18
	fChangeKey         = 19
	fLastModified      = 20
	fPriorVersion      = 21 // an earlier version: a nested item record
	fConversationID    = 22
	fIsDraft           = 23 // 1 for a draft; absent otherwise
)

const (
	oKind       = 1
	oAt         = 2
	oRunID      = 3
	oFromFolder = 4
	oToFolder   = 5
	oReason     = 6
	oChangeKey  = 7
)

type encoder struct{ b []byte }

func (e *encoder) varint(tag int, v uint64) {
	if v == 0 {
		return
	}
	e.b = binary.AppendUvarint(e.b, uint64(tag)<<1|wireVarint)
	e.b = binary.AppendUvarint(e.b, v)
}

func (e *encoder) bytes(tag int, v []byte) {
	if len(v) == 0 {
		return
	}
	e.b = binary.AppendUvarint(e.b, uint64(tag)<<1|wireBytes)
	e.b = binary.AppendUvarint(e.b, uint64(len(v)))
	e.b = append(e.b, v...)
}

func (e *encoder) str(tag int, v string) {
	if v == "" {
		return
	}
	e.b = binary.AppendUvarint(e.b, uint64(tag)<<1|wireBytes)
	e.b = binary.AppendUvarint(e.b, uint64(len(v)))
	e.b = append(e.b, v...)
}

func (e *encoder) time(tag int, t time.Time) {
	if t.IsZero() {
		return
	}
	var buf [2 * binary.MaxVarintLen64]byte
	n := binary.PutVarint(buf[:], t.Unix())
	n += binary.PutUvarint(buf[n:], uint64(t.Nanosecond()))
	e.bytes(tag, buf[:n])
}

// hexBytes converts a lower- or upper-case hex digest of the given length
// in bytes; an empty string is no digest.
func hexBytes(name, s string, size int) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != size {
		return nil, fmt.Errorf("%s %q is not %d bytes of hex", name, s, size)
	}
	return b, nil
}

func encodeItem(it *Item) ([]byte, error) {
	sha256, err := hexBytes("sha256", it.SHA256, 32)
	if err != nil {
		return nil, err
	}
	md5, err := hexBytes("md5", it.MD5, 16)
	if err != nil {
		return nil, err
	}
	sha1, err := hexBytes("sha1", it.SHA1, 20)
	if err != nil {
		return nil, err
	}
	e := encoder{b: make([]byte, 0, 512)}
	var flags byte
	if len(sha256) > 0 {
		flags |= flagCollected
	}
	e.b = append(e.b, itemFormat, flags)
	e.str(fInternetMessageID, it.InternetMessageID)
	e.str(fFolderID, it.FolderID)
	e.str(fFolderPath, it.FolderPath)
	e.time(fReceived, it.Received)
	e.time(fSent, it.Sent)
	e.str(fSubject, it.Subject)
	e.str(fFrom, it.From)
	if it.Size < 0 {
		return nil, fmt.Errorf("size %d is negative", it.Size)
	}
	e.varint(fSize, uint64(it.Size))
	e.bytes(fSHA256, sha256)
	e.bytes(fMD5, md5)
	e.bytes(fSHA1, sha1)
	e.str(fNative, it.Native)
	e.str(fRunID, it.RunID)
	e.time(fCollectedAt, it.CollectedAt)
	for _, c := range it.Custodians {
		e.str(fCustodian, c)
	}
	e.varint(fSeq, it.Seq)
	for _, o := range it.Observations {
		var oe encoder
		oe.str(oKind, string(o.Kind))
		oe.time(oAt, o.At)
		oe.str(oRunID, o.RunID)
		oe.str(oFromFolder, o.FromFolder)
		oe.str(oToFolder, o.ToFolder)
		oe.str(oReason, o.Reason)
		oe.str(oChangeKey, o.ChangeKey)
		// An observation always has a kind, so its encoding is never empty.
		e.bytes(fObservation, oe.b)
	}
	if it.Version < 0 {
		return nil, fmt.Errorf("version %d is negative", it.Version)
	}
	e.varint(fVersion, uint64(it.Version))
	e.str(fChangeKey, it.ChangeKey)
	e.time(fLastModified, it.LastModified)
	e.str(fConversationID, it.ConversationID)
	if it.IsDraft {
		e.varint(fIsDraft, 1)
	}
	for i := range it.Versions {
		if len(it.Versions[i].Versions) > 0 {
			return nil, errors.New("an earlier version holds versions of its own")
		}
		b, err := encodeItem(&it.Versions[i])
		if err != nil {
			return nil, fmt.Errorf("version %d: %w", it.Versions[i].Version, err)
		}
		e.bytes(fPriorVersion, b)
	}
	return e.b, nil
}

var errTruncatedRecord = errors.New("record is truncated")

// fields walks the (tag, value) pairs of b, calling fn with either the
// varint or the bytes of each.
func fields(b []byte, fn func(tag int, v uint64, p []byte) error) error {
	for len(b) > 0 {
		key, n := binary.Uvarint(b)
		if n <= 0 {
			return errTruncatedRecord
		}
		b = b[n:]
		switch key & 1 {
		case wireVarint:
			v, n := binary.Uvarint(b)
			if n <= 0 {
				return errTruncatedRecord
			}
			b = b[n:]
			if err := fn(int(key>>1), v, nil); err != nil {
				return err
			}
		case wireBytes:
			l, n := binary.Uvarint(b)
			if n <= 0 || uint64(len(b)-n) < l {
				return errTruncatedRecord
			}
			p := b[n : n+int(l)]
			b = b[n+int(l):]
			if err := fn(int(key>>1), 0, p); err != nil {
				return err
			}
		}
	}
	return nil
}

func decodeTime(p []byte) (time.Time, error) {
	sec, n := binary.Varint(p)
	if n <= 0 {
		return time.Time{}, errTruncatedRecord
	}
	nsec, m := binary.Uvarint(p[n:])
	if m <= 0 || nsec >= 1e9 {
		return time.Time{}, errTruncatedRecord
	}
	return time.Unix(sec, int64(nsec)).UTC(), nil
}

// itemCollected reads only the flags byte: the fast path of HasItem.
func itemCollected(v []byte) bool {
	return len(v) >= 2 && v[1]&flagCollected != 0
}

func decodeItem(mailbox, id string, v []byte) (Item, error) {
	it := Item{Mailbox: mailbox, ID: id}
	if len(v) < 2 {
		return it, errTruncatedRecord
	}
	if v[0] != itemFormat {
		return it, fmt.Errorf("item record format %d is not known to this version of collect", v[0])
	}
	err := fields(v[2:], func(tag int, n uint64, p []byte) error {
		var err error
		switch tag {
		case fInternetMessageID:
			it.InternetMessageID = string(p)
		case fFolderID:
			it.FolderID = string(p)
		case fFolderPath:
			it.FolderPath = string(p)
		case fReceived:
			it.Received, err = decodeTime(p)
		case fSent:
			it.Sent, err = decodeTime(p)
		case fSubject:
			it.Subject = string(p)
		case fFrom:
			it.From = string(p)
		case fSize:
			it.Size = int64(n)
		case fSHA256:
			it.SHA256 = hex.EncodeToString(p)
		case fMD5:
			it.MD5 = hex.EncodeToString(p)
		case fSHA1:
			it.SHA1 = hex.EncodeToString(p)
		case fNative:
			it.Native = string(p)
		case fRunID:
			it.RunID = string(p)
		case fCollectedAt:
			it.CollectedAt, err = decodeTime(p)
		case fCustodian:
			it.Custodians = append(it.Custodians, string(p))
		case fSeq:
			it.Seq = n
		case fObservation:
			var o Observation
			err = fields(p, func(tag int, _ uint64, p []byte) error {
				var err error
				switch tag {
				case oKind:
					o.Kind = ObservationKind(p)
				case oAt:
					o.At, err = decodeTime(p)
				case oRunID:
					o.RunID = string(p)
				case oFromFolder:
					o.FromFolder = string(p)
				case oToFolder:
					o.ToFolder = string(p)
				case oReason:
					o.Reason = string(p)
				case oChangeKey:
					o.ChangeKey = string(p)
				}
				return err
			})
			it.Observations = append(it.Observations, o)
		case fVersion:
			it.Version = int(n)
		case fChangeKey:
			it.ChangeKey = string(p)
		case fLastModified:
			it.LastModified, err = decodeTime(p)
		case fConversationID:
			it.ConversationID = string(p)
		case fIsDraft:
			it.IsDraft = n != 0
		case fPriorVersion:
			var v Item
			if v, err = decodeItem(mailbox, id, p); err == nil {
				v.Mailbox, v.ID = "", ""
				it.Versions = append(it.Versions, v)
			}
		}
		return err
	})
	if err != nil {
		return it, fmt.Errorf("item %s of mailbox %s: %w", id, mailbox, err)
	}
	return it, nil
}
