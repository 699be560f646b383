package state

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/collect-ediscovery/collect/internal/record"
	bolt "go.etcd.io/bbolt"
)

// ReadTx reads one consistent view of the state. It is valid only inside
// the function given to View or Update, and is not for use by several
// goroutines at once. Iterations stream from the file; the callbacks must
// not write to the state, and an error from a callback stops the iteration
// and is returned as is.
type ReadTx struct {
	tx *bolt.Tx // nil: the empty state of a file that does not exist yet
	// bbolt caches nested buckets only in write transactions; these keep
	// the lookups of a read transaction from seeking them again and again.
	top   map[string]*bolt.Bucket
	boxes map[string]*mailboxBuckets
}

// mailboxBuckets are the buckets of one mailbox.
type mailboxBuckets struct {
	root, folders, items, byFolder, failures *bolt.Bucket
}

// Fill factors of written pages, measured with 100,000 items put in ID
// order and in random order: bbolt's default (half full) suits keys that
// arrive at random (digests, internetMessageIds); items arrive in no set
// order, where 0.75 costs little over 0.5 and saves a third in ID order;
// the sequence index only appends, so its pages can be full.
const (
	fillPercent    = 0.75
	fillPercentSeq = 1.0
)

func (r *ReadTx) bucket(name []byte) *bolt.Bucket {
	if r.tx == nil {
		return nil
	}
	if b, ok := r.top[string(name)]; ok {
		return b
	}
	b := r.tx.Bucket(name)
	if b == nil {
		return nil
	}
	if r.tx.Writable() {
		switch string(name) {
		case string(bBySeq):
			b.FillPercent = fillPercentSeq
		case string(bBySHA256), string(bByIMID):
			// Random keys: denser pages would only split again at once.
		default:
			b.FillPercent = fillPercent
		}
	}
	if r.top == nil {
		r.top = make(map[string]*bolt.Bucket)
	}
	r.top[string(name)] = b
	return b
}

// box returns the buckets of one mailbox, or nil.
func (r *ReadTx) box(id string) *mailboxBuckets {
	if b, ok := r.boxes[id]; ok {
		return b
	}
	mbs := r.bucket(bMailboxes)
	if mbs == nil {
		return nil
	}
	root := mbs.Bucket([]byte(id))
	if root == nil {
		return nil // not remembered: it may be created later in this transaction
	}
	b := &mailboxBuckets{root: root, folders: root.Bucket(bFolders), items: root.Bucket(bItems),
		byFolder: root.Bucket(bByFolder), failures: root.Bucket(bFailures)}
	if b.folders == nil || b.items == nil || b.byFolder == nil || b.failures == nil {
		return nil // created in this transaction and not complete yet
	}
	if r.tx.Writable() {
		for _, sub := range []*bolt.Bucket{root, b.folders, b.items, b.byFolder, b.failures} {
			sub.FillPercent = fillPercent
		}
	}
	if r.boxes == nil {
		r.boxes = make(map[string]*mailboxBuckets)
	}
	r.boxes[id] = b
	return b
}

// mailbox returns the bucket of one mailbox, or nil.
func (r *ReadTx) mailbox(id string) *bolt.Bucket {
	if b := r.box(id); b != nil {
		return b.root
	}
	return nil
}

func (r *ReadTx) mailboxSub(id string, name []byte) *bolt.Bucket {
	b := r.box(id)
	if b == nil {
		return nil
	}
	switch string(name) {
	case string(bFolders):
		return b.folders
	case string(bItems):
		return b.items
	case string(bByFolder):
		return b.byFolder
	case string(bFailures):
		return b.failures
	}
	panic("state: unknown mailbox bucket " + string(name))
}

// Meta returns the description of the state file; the zero Meta for a file
// that does not exist yet.
func (r *ReadTx) Meta() Meta {
	b := r.bucket(bMeta)
	if b == nil {
		return Meta{}
	}
	var m Meta
	if v := b.Get(kSchema); len(v) == 8 {
		m.SchemaVersion = int(binary.BigEndian.Uint64(v))
	}
	if v := b.Get(kSerial); len(v) == 8 {
		m.Serial = binary.BigEndian.Uint64(v)
	}
	m.Lineage = string(b.Get(kLineage))
	m.ToolVersion = string(b.Get(kToolVersion))
	m.CreatedAt, _ = time.Parse(time.RFC3339Nano, string(b.Get(kCreatedAt)))
	return m
}

// Mailbox returns the mailbox with this directory object ID.
func (r *ReadTx) Mailbox(id string) (Mailbox, bool, error) {
	mb := r.mailbox(id)
	if mb == nil {
		return Mailbox{}, false, nil
	}
	m, err := decodeMailbox(id, mb.Get(kIdentity))
	return m, err == nil, err
}

func decodeMailbox(id string, v []byte) (Mailbox, error) {
	var m Mailbox
	if err := json.Unmarshal(v, &m); err != nil {
		return Mailbox{ID: id}, fmt.Errorf("mailbox %s: bad record: %w", id, err)
	}
	m.ID = id
	return m, nil
}

// Mailboxes calls fn for each mailbox, in order of ID.
func (r *ReadTx) Mailboxes(fn func(Mailbox) error) error {
	mbs := r.bucket(bMailboxes)
	if mbs == nil {
		return nil
	}
	c := mbs.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		mb := mbs.Bucket(k)
		if mb == nil {
			return fmt.Errorf("mailboxes: %q is not a mailbox", k)
		}
		m, err := decodeMailbox(string(k), mb.Get(kIdentity))
		if err != nil {
			return err
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	return nil
}

// Folder returns a folder of a mailbox by its immutable ID.
func (r *ReadTx) Folder(mailbox, folder string) (Folder, bool, error) {
	b := r.mailboxSub(mailbox, bFolders)
	if b == nil {
		return Folder{}, false, nil
	}
	v := b.Get([]byte(folder))
	if v == nil {
		return Folder{}, false, nil
	}
	f, err := decodeFolder(mailbox, folder, v)
	return f, err == nil, err
}

func decodeFolder(mailbox, id string, v []byte) (Folder, error) {
	var f Folder
	if err := json.Unmarshal(v, &f); err != nil {
		return Folder{ID: id}, fmt.Errorf("folder %s of mailbox %s: bad record: %w", id, mailbox, err)
	}
	f.ID = id
	return f, nil
}

// Folders calls fn for each folder of a mailbox, in order of folder ID.
func (r *ReadTx) Folders(mailbox string, fn func(Folder) error) error {
	b := r.mailboxSub(mailbox, bFolders)
	if b == nil {
		return nil
	}
	return b.ForEach(func(k, v []byte) error {
		f, err := decodeFolder(mailbox, string(k), v)
		if err != nil {
			return err
		}
		return fn(f)
	})
}

// Item returns an item of a mailbox by its immutable ID.
func (r *ReadTx) Item(mailbox, id string) (Item, bool, error) {
	b := r.mailboxSub(mailbox, bItems)
	if b == nil {
		return Item{}, false, nil
	}
	v := b.Get([]byte(id))
	if v == nil {
		return Item{}, false, nil
	}
	it, err := decodeItem(mailbox, id, v)
	return it, err == nil, err
}

// HasItem reports whether the item was collected, without decoding it. An
// item known only through observations (a tombstone) was not collected.
func (r *ReadTx) HasItem(mailbox, id string) bool {
	b := r.mailboxSub(mailbox, bItems)
	if b == nil {
		return false
	}
	return itemCollected(b.Get([]byte(id)))
}

// ItemsOfMailbox calls fn for each item of a mailbox, collected or not, in
// order of item ID.
func (r *ReadTx) ItemsOfMailbox(mailbox string, fn func(Item) error) error {
	b := r.mailboxSub(mailbox, bItems)
	if b == nil {
		return nil
	}
	return b.ForEach(func(k, v []byte) error {
		it, err := decodeItem(mailbox, string(k), v)
		if err != nil {
			return err
		}
		return fn(it)
	})
}

// ItemsInFolder calls fn for each item of a mailbox last seen in the
// folder, in order of item ID.
func (r *ReadTx) ItemsInFolder(mailbox, folder string, fn func(Item) error) error {
	idx := r.mailboxSub(mailbox, bByFolder)
	items := r.mailboxSub(mailbox, bItems)
	if idx == nil || items == nil {
		return nil
	}
	prefix := folderHash(folder)
	c := idx.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		id := k[len(prefix):]
		v := items.Get(id)
		if v == nil {
			return fmt.Errorf("mailbox %s: the folder index names item %s, which is missing", mailbox, id)
		}
		it, err := decodeItem(mailbox, string(id), v)
		if err != nil {
			return err
		}
		if it.FolderID != folder {
			continue // another folder whose ID hashes the same
		}
		if err := fn(it); err != nil {
			return err
		}
	}
	return nil
}

// refsWithPrefix lists the (mailbox, id) refs of an index whose keys are
// prefix + mailbox + 0 + id.
func (r *ReadTx) refsWithPrefix(index []byte, prefix []byte) ([]ItemRef, error) {
	b := r.bucket(index)
	if b == nil {
		return nil, nil
	}
	var refs []ItemRef
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		ref, ok := splitRef(k[len(prefix):])
		if !ok {
			return refs, fmt.Errorf("index %s: bad key %q", index, k)
		}
		refs = append(refs, ref)
	}
	return refs, nil
}

func splitRef(b []byte) (ItemRef, bool) {
	mb, id, ok := bytes.Cut(b, []byte{0})
	if !ok || len(mb) == 0 || len(id) == 0 {
		return ItemRef{}, false
	}
	return ItemRef{Mailbox: string(mb), ID: string(id)}, true
}

func joinRef(prefix []byte, mailbox, id string) []byte {
	k := make([]byte, 0, len(prefix)+len(mailbox)+1+len(id))
	k = append(k, prefix...)
	k = append(k, mailbox...)
	k = append(k, 0)
	return append(k, id...)
}

// ItemsByInternetMessageID lists the items, in any mailbox, with this
// internetMessageId (compared exactly as stored).
func (r *ReadTx) ItemsByInternetMessageID(internetMessageID string) ([]ItemRef, error) {
	if internetMessageID == "" {
		return nil, nil
	}
	return r.refsWithPrefix(bByIMID, append([]byte(internetMessageID), 0))
}

// ItemsBySHA256 lists the collected items, in any mailbox, whose native has
// this SHA-256 (hex), in the order they were collected.
func (r *ReadTx) ItemsBySHA256(sha256 string) ([]ItemRef, error) {
	sum, err := hexBytes("sha256", strings.ToLower(sha256), 32)
	if err != nil || sum == nil {
		return nil, fmt.Errorf("look up by SHA-256: %q is not a SHA-256 in hex", sha256)
	}
	idx, seqs := r.bucket(bBySHA256), r.bucket(bBySeq)
	if idx == nil || seqs == nil {
		return nil, nil
	}
	// Every item with a native has a sequence number, so the index holds
	// digest + Seq (40 bytes) and the sequence index names the item.
	var refs []ItemRef
	c := idx.Cursor()
	for k, _ := c.Seek(sum); k != nil && bytes.HasPrefix(k, sum); k, _ = c.Next() {
		ref, ok := splitRef(seqs.Get(k[len(sum):]))
		if !ok {
			return refs, fmt.Errorf("SHA-256 index: entry %x names no item", k)
		}
		refs = append(refs, ref)
	}
	return refs, nil
}

// itemAtSeq reads the collected version of an item with sequence number seq.
func (r *ReadTx) itemAtSeq(ref ItemRef, seq uint64) (Item, bool, error) {
	it, found, err := r.Item(ref.Mailbox, ref.ID)
	if err != nil || !found {
		return Item{}, false, err
	}
	v, ok := it.AtSeq(seq)
	return v, ok, nil
}

// ItemsSince calls fn, in order of Seq, for each collected item whose Seq
// is greater than seq: what was collected after the item numbered seq. An
// item collected in several versions is called once per version, as that
// version (Item.AtSeq).
func (r *ReadTx) ItemsSince(seq uint64, fn func(Item) error) error {
	b := r.bucket(bBySeq)
	if b == nil {
		return nil
	}
	c := b.Cursor()
	for k, v := c.Seek(u64(seq + 1)); k != nil; k, v = c.Next() {
		ref, ok := splitRef(v)
		if !ok {
			return fmt.Errorf("sequence index: bad entry for %x", k)
		}
		it, found, err := r.itemAtSeq(ref, binary.BigEndian.Uint64(k))
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("sequence index: item %s of mailbox %s (seq %d) is missing", ref.ID, ref.Mailbox, binary.BigEndian.Uint64(k))
		}
		if err := fn(it); err != nil {
			return err
		}
	}
	return nil
}

// LastSeq is the highest collection sequence number assigned; 0 if none.
func (r *ReadTx) LastSeq() uint64 {
	b := r.bucket(bBySeq)
	if b == nil {
		return 0
	}
	k, _ := b.Cursor().Last()
	if len(k) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(k)
}

// Run returns a run record by ID.
func (r *ReadTx) Run(id string) (record.Run, bool, error) {
	b := r.bucket(bRuns)
	if b == nil {
		return record.Run{}, false, nil
	}
	v := b.Get([]byte(id))
	if v == nil {
		return record.Run{}, false, nil
	}
	run, err := decodeRun(v)
	if err != nil {
		return record.Run{}, false, fmt.Errorf("run %s: bad record: %w", id, err)
	}
	return run, true, nil
}

// Runs calls fn for each run record, oldest first. Runs are few, so they
// are read together to be put in order.
func (r *ReadTx) Runs(fn func(record.Run) error) error {
	b := r.bucket(bRuns)
	if b == nil {
		return nil
	}
	var runs []record.Run
	err := b.ForEach(func(k, v []byte) error {
		run, err := decodeRun(v)
		if err != nil {
			return fmt.Errorf("run %s: bad record: %w", k, err)
		}
		runs = append(runs, run)
		return nil
	})
	if err != nil {
		return err
	}
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].Started.Before(runs[j].Started) })
	for _, run := range runs {
		if err := fn(run); err != nil {
			return err
		}
	}
	return nil
}

// Failure returns the last failure to collect an item, if it has not been
// collected since.
func (r *ReadTx) Failure(mailbox, id string) (Failure, bool, error) {
	b := r.mailboxSub(mailbox, bFailures)
	if b == nil {
		return Failure{}, false, nil
	}
	v := b.Get([]byte(id))
	if v == nil {
		return Failure{}, false, nil
	}
	f, err := decodeFailure(mailbox, id, v)
	return f, err == nil, err
}

func decodeFailure(mailbox, id string, v []byte) (Failure, error) {
	var f Failure
	if err := json.Unmarshal(v, &f); err != nil {
		return Failure{}, fmt.Errorf("failure of item %s of mailbox %s: bad record: %w", id, mailbox, err)
	}
	f.Mailbox, f.ItemID = mailbox, id
	return f, nil
}

// Failures calls fn for each outstanding failure of a mailbox.
func (r *ReadTx) Failures(mailbox string, fn func(Failure) error) error {
	b := r.mailboxSub(mailbox, bFailures)
	if b == nil {
		return nil
	}
	return b.ForEach(func(k, v []byte) error {
		f, err := decodeFailure(mailbox, string(k), v)
		if err != nil {
			return err
		}
		return fn(f)
	})
}

// sha256Key is the raw digest of a validated hex SHA-256.
func sha256Key(s string) []byte {
	b, _ := hex.DecodeString(s)
	return b
}
