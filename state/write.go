package state

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/collect-ediscovery/collect/internal/record"
)

// Tx is a write transaction: it reads like a ReadTx and writes records.
// Nothing in it deletes an item, an observation, a mailbox or a folder.
type Tx struct {
	ReadTx
	now func() time.Time
}

// checkKey refuses IDs that would break the index keys.
func checkKey(what, v string) error {
	if v == "" {
		return fmt.Errorf("%s is empty", what)
	}
	if strings.IndexByte(v, 0) >= 0 {
		return fmt.Errorf("%s %q contains a NUL byte", what, v)
	}
	return nil
}

// union appends to a the elements of b it lacks, keeping a's order.
func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// PutMailbox records a mailbox's identity. References and custodians are
// added to those already recorded, never dropped.
func (t *Tx) PutMailbox(m Mailbox) error {
	if err := checkKey("mailbox ID", m.ID); err != nil {
		return fmt.Errorf("put mailbox: %w", err)
	}
	old, found, err := t.Mailbox(m.ID)
	if err != nil {
		return err
	}
	if found {
		m.References = union(old.References, m.References)
		m.Custodians = union(old.Custodians, m.Custodians)
	}
	mb, err := t.bucket(bMailboxes).CreateBucketIfNotExists([]byte(m.ID))
	if err != nil {
		return err
	}
	for _, name := range [][]byte{bFolders, bItems, bByFolder, bFailures} {
		if _, err := mb.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	v, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return mb.Put(kIdentity, v)
}

// knownMailbox returns a mailbox's bucket, or an error naming the mailbox
// when PutMailbox was not called for it.
func (t *Tx) knownMailbox(id string) (*mailboxBuckets, error) {
	if err := checkKey("mailbox ID", id); err != nil {
		return nil, err
	}
	mb := t.box(id)
	if mb == nil {
		return nil, fmt.Errorf("mailbox %s is not in the state: record it with PutMailbox first", id)
	}
	return mb, nil
}

// PutFolder records a folder of a mailbox. The folder's delta cursor is
// kept unless f carries one: use SetCursor to change or clear it.
func (t *Tx) PutFolder(mailbox string, f Folder) error {
	mb, err := t.knownMailbox(mailbox)
	if err != nil {
		return fmt.Errorf("put folder: %w", err)
	}
	if err := checkKey("folder ID", f.ID); err != nil {
		return fmt.Errorf("put folder: %w", err)
	}
	if f.Cursor != "" && f.CursorIDType == "" {
		return fmt.Errorf("put folder %s: a cursor needs the ID type it was made with", f.ID)
	}
	if f.Cursor == "" {
		old, found, err := t.Folder(mailbox, f.ID)
		if err != nil {
			return err
		}
		if found {
			f.Cursor, f.CursorIDType, f.LastCompleted = old.Cursor, old.CursorIDType, old.LastCompleted
		}
	}
	return putFolder(mb, f)
}

func putFolder(mb *mailboxBuckets, f Folder) error {
	v, err := json.Marshal(f)
	if err != nil {
		return err
	}
	return mb.folders.Put([]byte(f.ID), v)
}

// SetCursor records the delta cursor of a completed round of a folder, the
// ID type it was made with, and when the round completed. An empty cursor
// clears it, as when the server no longer knows the old one.
func (t *Tx) SetCursor(mailbox, folder, cursor, idType string, completed time.Time) error {
	mb, err := t.knownMailbox(mailbox)
	if err != nil {
		return fmt.Errorf("set cursor: %w", err)
	}
	f, found, err := t.Folder(mailbox, folder)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("set cursor: folder %s of mailbox %s is not in the state: record it with PutFolder first", folder, mailbox)
	}
	if cursor != "" && idType == "" {
		return fmt.Errorf("set cursor of folder %s: a cursor needs the ID type it was made with", folder)
	}
	f.Cursor, f.CursorIDType, f.LastCompleted = cursor, idType, completed.UTC()
	return putFolder(mb, f)
}

// shorten keeps at most MaxShortText bytes of s, cut at a rune boundary.
func shorten(s string) string {
	if len(s) <= MaxShortText {
		return s
	}
	cut := MaxShortText
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// PutItem records an item, merging it with what is already recorded, and
// returns the record as stored and whether this call collected it (it was
// not recorded as collected before):
//   - the first time an item is recorded as collected (it has a SHA-256),
//     it is given the next collection sequence number and its last failure
//     is cleared;
//   - what was recorded of a collected item's native (hashes, size, path,
//     run, time, Seq) never changes: a different native is a ConflictError;
//   - custodians and observations are added to those recorded, never
//     dropped; empty fields of it keep their recorded values;
//   - the folder and path are where the item was last seen.
//
// The stored record's Seq is 0 for an item not collected.
func (t *Tx) PutItem(it Item) (Item, bool, error) {
	return t.putItemAt(it, 0)
}

// RestoreItem records a collected item with the sequence number it had,
// as a rebuild from the output folder does: it.Seq must be above every
// sequence number assigned so far. Otherwise it is PutItem.
func (t *Tx) RestoreItem(it Item) error {
	if !it.Collected() {
		return fmt.Errorf("restore item %s: only a collected item (with its SHA-256) is restored", it.ID)
	}
	if last := t.LastSeq(); it.Seq <= last {
		return fmt.Errorf("restore item %s: seq %d is not above the last one assigned (%d)", it.ID, it.Seq, last)
	}
	if t.HasItem(it.Mailbox, it.ID) {
		// A later version of an item is restored after the one before it.
		old, _, err := t.Item(it.Mailbox, it.ID)
		if err != nil {
			return err
		}
		if it.Version <= 1 || it.Version != old.VersionNumber()+1 {
			return fmt.Errorf("restore item %s of mailbox %s: it is recorded already as version %d (seq %d is a second record of it, as version %d)",
				it.ID, it.Mailbox, old.VersionNumber(), it.Seq, max(it.Version, 1))
		}
		_, isNew, err := t.putVersionAt(it, it.Seq)
		if err == nil && !isNew {
			err = fmt.Errorf("restore item %s: version %d (seq %d) has the bytes of the version before it", it.ID, it.Version, it.Seq)
		}
		return err
	}
	if it.Version > 1 {
		return fmt.Errorf("restore item %s: version %d (seq %d) comes before the versions it follows", it.ID, it.Version, it.Seq)
	}
	_, _, err := t.putItemAt(it, it.Seq)
	return err
}

// putItemAt is PutItem, giving a newly collected item the sequence number
// seq instead of the next one when seq is not 0.
func (t *Tx) putItemAt(it Item, seq uint64) (Item, bool, error) {
	mb, err := t.prepareItem(&it)
	if err != nil {
		return Item{}, false, err
	}
	old, found, err := t.Item(it.Mailbox, it.ID)
	if err != nil {
		return Item{}, false, err
	}
	rec := it
	if found {
		rec = merge(old, it)
		if old.Collected() {
			if it.Collected() && !sameNative(old, it) {
				return Item{}, false, &ConflictError{Ref: ItemRef{it.Mailbox, it.ID}, Reason: fmt.Sprintf(
					"it was already collected as %s (sha256 %s, %d bytes); the state never replaces a collected native",
					old.Native, old.SHA256, old.Size)}
			}
		}
	}
	if rec.Collected() && rec.Seq == 0 {
		if err := t.sequence(mb, &rec, seq); err != nil {
			return Item{}, false, err
		}
	}
	if err := t.store(mb, old, found, &rec); err != nil {
		return Item{}, false, err
	}
	return rec, rec.Collected() && !(found && old.Collected()), nil
}

// sequence gives a newly collected native of rec the sequence number seq
// (the next one when seq is 0), indexes it by sequence and by SHA-256,
// and clears the item's recorded failure.
func (t *Tx) sequence(mb *mailboxBuckets, rec *Item, seq uint64) error {
	rec.Seq = seq
	if seq == 0 {
		rec.Seq = t.LastSeq() + 1
	}
	if err := t.bucket(bBySeq).Put(u64(rec.Seq), joinRef(nil, rec.Mailbox, rec.ID)); err != nil {
		return err
	}
	if err := t.bucket(bBySHA256).Put(append(sha256Key(rec.SHA256), u64(rec.Seq)...), nil); err != nil {
		return err
	}
	return mb.failures.Delete([]byte(rec.ID))
}

// store writes rec over old (found: there was one), with its indexes, and
// leaves rec in the form a later read gives back.
func (t *Tx) store(mb *mailboxBuckets, old Item, found bool, rec *Item) error {
	if err := t.reindex(mb, old, found, *rec); err != nil {
		return err
	}
	if err := t.putItem(mb, rec); err != nil {
		return err
	}
	asStored(rec)
	return nil
}

// prepareItem checks an item about to be put and brings it to the form it
// is stored in; it returns the buckets of its mailbox.
func (t *Tx) prepareItem(it *Item) (*mailboxBuckets, error) {
	mb, err := t.knownMailbox(it.Mailbox)
	if err != nil {
		return nil, fmt.Errorf("put item: %w", err)
	}
	if err := checkKey("item ID", it.ID); err != nil {
		return nil, fmt.Errorf("put item: %w", err)
	}
	if strings.IndexByte(it.InternetMessageID, 0) >= 0 || strings.IndexByte(it.FolderID, 0) >= 0 {
		return nil, fmt.Errorf("put item %s: an ID contains a NUL byte", it.ID)
	}
	it.SHA256, it.MD5, it.SHA1 = strings.ToLower(it.SHA256), strings.ToLower(it.MD5), strings.ToLower(it.SHA1)
	for _, h := range []struct {
		name, hex string
		size      int
	}{{"sha256", it.SHA256, 32}, {"md5", it.MD5, 16}, {"sha1", it.SHA1, 20}} {
		if _, err := hexBytes(h.name, h.hex, h.size); err != nil {
			return nil, fmt.Errorf("put item %s: %w", it.ID, err)
		}
	}
	if !it.Collected() && (it.MD5 != "" || it.SHA1 != "") {
		return nil, fmt.Errorf("put item %s: an item with an MD5 or SHA-1 needs its SHA-256 too", it.ID)
	}
	if it.Collected() && (it.Native == "" || it.RunID == "" || it.CollectedAt.IsZero()) {
		return nil, fmt.Errorf("put item %s: a collected item needs the path of its native, the run and the time it was collected", it.ID)
	}
	it.Observations = slices.Clone(it.Observations)
	for i, o := range it.Observations {
		if err := checkObservation(o); err != nil {
			return nil, fmt.Errorf("put item %s: %w", it.ID, err)
		}
		if o.At.IsZero() {
			o.At = t.now()
		}
		it.Observations[i].At = o.At.UTC()
	}
	it.Subject, it.From = shorten(it.Subject), shorten(it.From)
	it.Seq = 0

	if it.Version < 0 || len(it.Versions) > 0 {
		return nil, fmt.Errorf("put item %s: versions are numbered and kept by the state (PutVersion), not given", it.ID)
	}
	it.Version = 0
	return mb, nil
}

// PutVersion records it as a new collected version of an item already
// collected, such as a draft edited since. Nothing of the version recorded
// so far is lost: it moves, with its native, Seq and manifest line, to the
// item's Versions, and it becomes the current one with the next version
// number and Seq. Custodians and observations merge as in PutItem. When
// its native is the one recorded (a draft saved again without a change to
// its bytes, a retried commit), no version is made and the second result is
// false: record the change as an observation. An item not collected yet is
// recorded as PutItem does.
func (t *Tx) PutVersion(it Item) (Item, bool, error) {
	return t.putVersionAt(it, 0)
}

// putVersionAt is PutVersion, giving a new version the sequence number seq
// instead of the next one when seq is not 0.
func (t *Tx) putVersionAt(it Item, seq uint64) (Item, bool, error) {
	mb, err := t.prepareItem(&it)
	if err != nil {
		return Item{}, false, err
	}
	if !it.Collected() {
		return Item{}, false, fmt.Errorf("put version of item %s: a version needs its native and hashes", it.ID)
	}
	old, found, err := t.Item(it.Mailbox, it.ID)
	if err != nil {
		return Item{}, false, err
	}
	if !found || !old.Collected() {
		return t.putItemAt(it, seq)
	}
	rec := merge(old, it)
	if sameNative(old, it) {
		if err := t.reindex(mb, old, true, rec); err != nil {
			return Item{}, false, err
		}
		if err := t.putItem(mb, &rec); err != nil {
			return Item{}, false, err
		}
		asStored(&rec)
		return rec, false, nil
	}
	prior := old
	prior.Mailbox, prior.ID, prior.Custodians, prior.Observations, prior.Versions = "", "", nil, nil, nil
	prior.Version = old.VersionNumber()
	rec.Versions = append(slices.Clone(old.Versions), prior)
	rec.Version = prior.Version + 1
	rec.InternetMessageID, rec.FolderID, rec.FolderPath = it.InternetMessageID, it.FolderID, it.FolderPath
	rec.Received, rec.Sent, rec.Subject, rec.From = it.Received, it.Sent, it.Subject, it.From
	rec.Size, rec.SHA256, rec.MD5, rec.SHA1 = it.Size, it.SHA256, it.MD5, it.SHA1
	rec.Native, rec.RunID, rec.CollectedAt = it.Native, it.RunID, it.CollectedAt
	rec.ChangeKey, rec.LastModified = it.ChangeKey, it.LastModified
	rec.ConversationID, rec.IsDraft = it.ConversationID, it.IsDraft
	if err := t.sequence(mb, &rec, seq); err != nil {
		return Item{}, false, err
	}
	if err := t.store(mb, old, true, &rec); err != nil {
		return Item{}, false, err
	}
	return rec, true, nil
}

// asStored gives an item the form Item reads back from the file: times in
// UTC without a monotonic reading, no empty lists.
func asStored(it *Item) {
	for _, t := range []*time.Time{&it.Received, &it.Sent, &it.CollectedAt, &it.LastModified} {
		if !t.IsZero() {
			*t = t.UTC()
		}
	}
	if len(it.Custodians) == 0 {
		it.Custodians = nil
	}
	if len(it.Observations) == 0 {
		it.Observations = nil
	}
}

// merge lays what was just seen of an item over what was recorded.
func merge(old, it Item) Item {
	rec := old
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	setTime := func(dst *time.Time, v time.Time) {
		if !v.IsZero() {
			*dst = v
		}
	}
	set(&rec.InternetMessageID, it.InternetMessageID)
	set(&rec.FolderID, it.FolderID)
	set(&rec.FolderPath, it.FolderPath)
	setTime(&rec.Received, it.Received)
	setTime(&rec.Sent, it.Sent)
	set(&rec.Subject, it.Subject)
	set(&rec.From, it.From)
	if !old.Collected() && it.Collected() {
		rec.Size, rec.SHA256, rec.MD5, rec.SHA1 = it.Size, it.SHA256, it.MD5, it.SHA1
		rec.Native, rec.RunID, rec.CollectedAt = it.Native, it.RunID, it.CollectedAt
		rec.ChangeKey, rec.LastModified = it.ChangeKey, it.LastModified
		rec.IsDraft = it.IsDraft
	}
	set(&rec.ConversationID, it.ConversationID)
	rec.Custodians = union(old.Custodians, it.Custodians)
	for _, o := range it.Observations {
		rec.Observations = appendObservation(rec.Observations, o)
	}
	return rec
}

func sameNative(a, b Item) bool {
	optional := func(x, y string) bool { return x == "" || y == "" || x == y }
	return a.SHA256 == b.SHA256 && a.Size == b.Size && a.Native == b.Native &&
		optional(a.MD5, b.MD5) && optional(a.SHA1, b.SHA1)
}

// appendObservation appends o unless the very same observation is there,
// so that recording the same event twice (a retried commit) is harmless.
func appendObservation(obs []Observation, o Observation) []Observation {
	for _, p := range obs {
		if p.equal(o) {
			return obs
		}
	}
	return append(obs, o)
}

// reindex keeps the internetMessageId and folder indexes in step with the
// record. Index entries are derived data: moving one is not deleting
// evidence.
func (t *Tx) reindex(mb *mailboxBuckets, old Item, found bool, rec Item) error {
	imid := t.bucket(bByIMID)
	if found && old.InternetMessageID != "" && old.InternetMessageID != rec.InternetMessageID {
		if err := imid.Delete(joinRef(append([]byte(old.InternetMessageID), 0), rec.Mailbox, rec.ID)); err != nil {
			return err
		}
	}
	if rec.InternetMessageID != "" && (!found || old.InternetMessageID != rec.InternetMessageID) {
		if err := imid.Put(joinRef(append([]byte(rec.InternetMessageID), 0), rec.Mailbox, rec.ID), nil); err != nil {
			return err
		}
	}
	byFolder := mb.byFolder
	if found && old.FolderID != "" && old.FolderID != rec.FolderID {
		if err := byFolder.Delete(folderKey(old.FolderID, rec.ID)); err != nil {
			return err
		}
	}
	if rec.FolderID != "" && (!found || old.FolderID != rec.FolderID) {
		if err := byFolder.Put(folderKey(rec.FolderID, rec.ID), nil); err != nil {
			return err
		}
	}
	return nil
}

// The folder index is keyed by a 64-bit hash of the folder ID rather than
// the ID itself (often over 100 bytes), then the item ID. Readers check the
// item's folder, so two folders hashing alike cost a skip, not a mistake.
func folderHash(folder string) []byte {
	h := fnv.New64a()
	h.Write([]byte(folder))
	return h.Sum(nil)
}

func folderKey(folder, id string) []byte {
	return append(folderHash(folder), id...)
}

func (t *Tx) putItem(mb *mailboxBuckets, it *Item) error {
	v, err := encodeItem(it)
	if err != nil {
		return fmt.Errorf("put item %s: %w", it.ID, err)
	}
	return mb.items.Put([]byte(it.ID), v)
}

func checkObservation(o Observation) error {
	if !o.Kind.valid() {
		return fmt.Errorf("observation kind %q is not one of %s, %s, %s, %s", o.Kind, RemovedOnServer, Moved, DeletedBeforeCollection, ChangedOnServer)
	}
	return nil
}

// AddObservation appends an observation to an item. An item not recorded
// yet is recorded as known but not collected (a tombstone). An observation
// without a time is given the transaction's clock.
func (t *Tx) AddObservation(mailbox, id string, o Observation) error {
	mb, err := t.knownMailbox(mailbox)
	if err != nil {
		return fmt.Errorf("add observation: %w", err)
	}
	if err := checkKey("item ID", id); err != nil {
		return fmt.Errorf("add observation: %w", err)
	}
	if err := checkObservation(o); err != nil {
		return fmt.Errorf("add observation to item %s: %w", id, err)
	}
	if o.At.IsZero() {
		o.At = t.now()
	}
	o.At = o.At.UTC()
	it, found, err := t.Item(mailbox, id)
	if err != nil {
		return err
	}
	if !found {
		it = Item{Mailbox: mailbox, ID: id}
	}
	it.Observations = appendObservation(it.Observations, o)
	return t.putItem(mb, &it)
}

// RecordFailure records the last failure to collect an item, replacing
// the previous one; the run records keep the history.
func (t *Tx) RecordFailure(f Failure) error {
	mb, err := t.knownMailbox(f.Mailbox)
	if err != nil {
		return fmt.Errorf("record failure: %w", err)
	}
	if err := checkKey("item ID", f.ItemID); err != nil {
		return fmt.Errorf("record failure: %w", err)
	}
	if f.At.IsZero() {
		f.At = t.now()
	}
	v, err := json.Marshal(f)
	if err != nil {
		return err
	}
	return mb.failures.Put([]byte(f.ItemID), v)
}

// PutRun records (or updates) a run record.
func (t *Tx) PutRun(r record.Run) error {
	if err := checkKey("run ID", r.RunID); err != nil {
		return fmt.Errorf("put run: %w", err)
	}
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return t.bucket(bRuns).Put([]byte(r.RunID), v)
}

// BumpSerial increments the serial of the state, as every committing apply
// does, and returns the new serial.
func (t *Tx) BumpSerial() (uint64, error) {
	meta := t.bucket(bMeta)
	var serial uint64
	if v := meta.Get(kSerial); len(v) == 8 {
		serial = binary.BigEndian.Uint64(v)
	}
	serial++
	return serial, meta.Put(kSerial, u64(serial))
}
