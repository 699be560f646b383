package state

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// What collect export remembers, so that a record keeps its control number
// from one volume to the next and a later volume continues the sequence.
// The bucket is made by the first export; a file without it simply has
// exported nothing, so its layout needs no new schema version:
//
//	exports/
//	    meta/last                 8-byte counter: the last control number assigned
//	    docids/<mailbox> 0 <item ID> 0 <part>   the record's DOCID
//	    firsts/<dedupe key>       DOCID of the first record with the key
//	    volumes/<4-byte number>   JSON ExportVolume
//
// <part> is "" for the message itself and names a child by its position
// ("1", "1.2" for the second attachment of the first attached message).
var (
	bExports       = []byte("exports")
	bExportMeta    = []byte("meta")
	bExportDocIDs  = []byte("docids")
	bExportFirsts  = []byte("firsts")
	bExportVolumes = []byte("volumes")
	kExportLast    = []byte("last")
)

// ControlKey names one record of an export: a collected message, or one of
// the parts extracted from it.
type ControlKey struct {
	Mailbox string // directory object ID
	ItemID  string // immutable message ID
	Part    string // "" for the message; "1", "1.2", ... for its children
}

func (k ControlKey) bytes() ([]byte, error) {
	for _, s := range []string{k.Mailbox, k.ItemID, k.Part} {
		if strings.IndexByte(s, 0) >= 0 {
			return nil, fmt.Errorf("control number key %q contains a NUL byte", s)
		}
	}
	if k.Mailbox == "" || k.ItemID == "" {
		return nil, fmt.Errorf("control number key needs a mailbox and an item")
	}
	return []byte(k.Mailbox + "\x00" + k.ItemID + "\x00" + k.Part), nil
}

// ExportVolume is the record of one written volume.
type ExportVolume struct {
	Number         int       `json:"number"`
	Name           string    `json:"name"` // VOL0001
	At             time.Time `json:"at"`
	Format         string    `json:"format"`
	Profile        string    `json:"profile"`
	Selection      string    `json:"selection"` // "all", "run=ID", "since=ID"
	Runs           []string  `json:"runs"`      // runs whose items the volume holds
	Messages       int       `json:"messages"`
	Records        int       `json:"records"`
	FirstDOCID     string    `json:"first_docid,omitempty"`
	LastDOCID      string    `json:"last_docid,omitempty"`
	LoadFile       string    `json:"load_file"`
	LoadFileSHA256 string    `json:"load_file_sha256"`
}

func (r *ReadTx) exportSub(name []byte) *bolt.Bucket {
	b := r.bucket(bExports)
	if b == nil {
		return nil
	}
	return b.Bucket(name)
}

// ControlNumber returns the DOCID given to a record, if it has one.
func (r *ReadTx) ControlNumber(k ControlKey) (string, bool, error) {
	key, err := k.bytes()
	if err != nil {
		return "", false, err
	}
	b := r.exportSub(bExportDocIDs)
	if b == nil {
		return "", false, nil
	}
	v := b.Get(key)
	return string(v), v != nil, nil
}

// LastControlNumber is the last counter value assigned; 0 before the first export.
func (r *ReadTx) LastControlNumber() uint64 {
	b := r.exportSub(bExportMeta)
	if b == nil {
		return 0
	}
	if v := b.Get(kExportLast); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// FirstWithKey returns the DOCID of the first record given a dedupe key.
func (r *ReadTx) FirstWithKey(key string) (string, bool) {
	b := r.exportSub(bExportFirsts)
	if b == nil || key == "" {
		return "", false
	}
	v := b.Get([]byte(key))
	return string(v), v != nil
}

// ExportVolumes calls fn for each volume written, in order of number.
func (r *ReadTx) ExportVolumes(fn func(ExportVolume) error) error {
	b := r.exportSub(bExportVolumes)
	if b == nil {
		return nil
	}
	return b.ForEach(func(k, v []byte) error {
		var vol ExportVolume
		if err := json.Unmarshal(v, &vol); err != nil {
			return fmt.Errorf("export volume %x: bad record: %w", k, err)
		}
		return fn(vol)
	})
}

func (t *Tx) exportBucket(name []byte) (*bolt.Bucket, error) {
	root, err := t.tx.CreateBucketIfNotExists(bExports)
	if err != nil {
		return nil, err
	}
	return root.CreateBucketIfNotExists(name)
}

// AssignControlNumber returns the record's DOCID, giving it the next one
// (made by format from the counter) if it has none yet. A DOCID once given
// never changes, and the counter never goes back: no number is used twice.
func (t *Tx) AssignControlNumber(k ControlKey, format func(n uint64) string) (docid string, assigned bool, err error) {
	key, err := k.bytes()
	if err != nil {
		return "", false, fmt.Errorf("assign control number: %w", err)
	}
	ids, err := t.exportBucket(bExportDocIDs)
	if err != nil {
		return "", false, err
	}
	if v := ids.Get(key); v != nil {
		return string(v), false, nil
	}
	meta, err := t.exportBucket(bExportMeta)
	if err != nil {
		return "", false, err
	}
	n := t.LastControlNumber() + 1
	docid = format(n)
	if docid == "" {
		return "", false, fmt.Errorf("assign control number: empty DOCID for number %d", n)
	}
	if err := meta.Put(kExportLast, u64(n)); err != nil {
		return "", false, err
	}
	return docid, true, ids.Put(key, []byte(docid))
}

// FirstWithKeyOrPut returns the DOCID of the first record given the dedupe
// key, recording docid as that first record when there is none yet.
func (t *Tx) FirstWithKeyOrPut(key, docid string) (string, error) {
	if key == "" || docid == "" {
		return "", fmt.Errorf("record first of dedupe key: empty key or DOCID")
	}
	b, err := t.exportBucket(bExportFirsts)
	if err != nil {
		return "", err
	}
	if v := b.Get([]byte(key)); v != nil {
		return string(v), nil
	}
	return docid, b.Put([]byte(key), []byte(docid))
}

// PutExportVolume records a written volume. A volume number is used once.
func (t *Tx) PutExportVolume(v ExportVolume) error {
	if v.Number < 1 || v.Name == "" {
		return fmt.Errorf("put export volume: it needs a number and a name")
	}
	b, err := t.exportBucket(bExportVolumes)
	if err != nil {
		return err
	}
	key := binary.BigEndian.AppendUint32(nil, uint32(v.Number))
	if b.Get(key) != nil {
		return fmt.Errorf("put export volume: volume %d is already recorded", v.Number)
	}
	v.At = v.At.UTC()
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}
