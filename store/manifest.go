package store

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/collect-ediscovery/collect/internal/durable"
)

// ManifestEntry is one line of manifest.jsonl: one collected item. The field
// order here is the order on disk.
type ManifestEntry struct {
	Seq               uint64    `json:"seq"`
	RunID             string    `json:"run_id"`
	Custodians        []string  `json:"custodians"`
	Mailbox           string    `json:"mailbox"`              // primary SMTP address, lower case
	MailboxID         string    `json:"mailbox_id,omitempty"` // directory object ID of the mailbox
	Folder            string    `json:"folder"`               // display path
	GraphID           string    `json:"graph_id"`
	InternetMessageID string    `json:"internet_message_id"`
	SHA256            string    `json:"sha256"`
	MD5               string    `json:"md5,omitempty"`
	SHA1              string    `json:"sha1,omitempty"`
	Size              int64     `json:"size"`
	Path              string    `json:"path"`
	Received          time.Time `json:"received,omitzero"`
	Sent              time.Time `json:"sent,omitzero"`
	From              string    `json:"from"`
	Subject           string    `json:"subject"`
	CollectedAt       time.Time `json:"collected_at"`
	// Lineage is the lineage of the state the line was recorded in: an
	// output folder belongs to one state, and to its rebuilds.
	Lineage string `json:"lineage,omitempty"`
	// ChangeKey and LastModified are the server's changeKey and
	// lastModifiedDateTime of the version collected; absent in lines of
	// collects that did not record them.
	ChangeKey    string    `json:"change_key,omitempty"`
	LastModified time.Time `json:"last_modified,omitzero"`
	// Version numbers the versions of an item collected more than once
	// (a draft edited after it was collected): 2 for the second, and so
	// on; absent for the first. Each version is a line of its own with the
	// same graph_id.
	Version int `json:"version,omitempty"`
	// ConversationID is the server's conversationId and Draft its isDraft
	// for the version collected; absent in lines of collects that did not
	// record them.
	ConversationID string `json:"conversation_id,omitempty"`
	Draft          bool   `json:"draft,omitempty"`
}

// normalized returns the entry as it is written: times in UTC, mailbox in
// lower case, custodians never null.
func (e ManifestEntry) normalized() ManifestEntry {
	e.Mailbox = strings.ToLower(e.Mailbox)
	if e.Custodians == nil {
		e.Custodians = []string{}
	}
	if !e.Received.IsZero() {
		e.Received = e.Received.UTC()
	}
	if !e.Sent.IsZero() {
		e.Sent = e.Sent.UTC()
	}
	e.CollectedAt = e.CollectedAt.UTC()
	if !e.LastModified.IsZero() {
		e.LastModified = e.LastModified.UTC()
	}
	return e
}

// MarshalLine returns the entry's manifest line, newline included. The same
// entry always gives the same bytes.
func (e ManifestEntry) MarshalLine() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e.normalized()); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func (e ManifestEntry) validate() error {
	if e.Seq == 0 {
		return errors.New("seq is 0 (sequence numbers start at 1)")
	}
	if !isSHA256Hex(e.SHA256) {
		return fmt.Errorf("sha256 %q is not 64 lower-case hex digits", e.SHA256)
	}
	if want := NativePath(e.SHA256); e.Path != want {
		return fmt.Errorf("path %q is not the native's path %q", e.Path, want)
	}
	if e.Size < 0 {
		return fmt.Errorf("size %d is negative", e.Size)
	}
	return nil
}

// TornTail describes bytes after the last newline of the manifest: a line a
// crash interrupted. It is not a complete entry.
type TornTail struct {
	Offset int64  // where the torn bytes started
	Bytes  []byte // the bytes that were cut
}

// TornTailError is returned by ReadManifest when the file ends in a partial line.
type TornTailError struct{ TornTail }

func (e *TornTailError) Error() string {
	return fmt.Sprintf("manifest ends with %d bytes of an incomplete line at offset %d (an interrupted append; the next apply cuts them and re-appends from the state)", len(e.Bytes), e.Offset)
}

// journalFile is what the manifest needs from its file (an *os.File).
type journalFile interface {
	io.Writer
	io.ReaderAt
	Sync() error
	Truncate(size int64) error
	Stat() (fs.FileInfo, error)
	Close() error
}

// Manifest is the open manifest journal. Its methods are safe for concurrent use.
type Manifest struct {
	mu     sync.Mutex
	path   string
	f      journalFile
	dir    string // output folder, for error messages
	last   uint64
	size   int64 // length of the complete lines
	repair bool  // an append failed: the tail must be re-read before the next one
	// lineage is written on every line appended without one (SetLineage).
	lineage string
	cut     []TornTail
	// follow is told of every append once it is durable (SetFollower).
	follow func(lines []byte) error
}

// OpenManifest opens (creating if needed) the manifest at path. A torn final
// line is cut off and reported by Cut.
func OpenManifest(path string) (*Manifest, error) {
	return openManifest(path, 0o600)
}

// OpenManifest opens the store's manifest.jsonl.
func (s *Store) OpenManifest() (*Manifest, error) {
	return openManifest(s.abs(ManifestFile), s.filePerm)
}

func openManifest(path string, perm fs.FileMode) (*Manifest, error) {
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, perm)
	if err != nil {
		return nil, diskFull(fmt.Errorf("store: opening manifest %s: %w", path, err), filepath.Dir(path), "create", path, "the manifest was not opened")
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		if err := durable.SyncDir(filepath.Dir(path)); err != nil {
			f.Close()
			return nil, fmt.Errorf("store: syncing the folder of %s: %w", path, err)
		}
	}
	m := &Manifest{path: path, f: f, dir: filepath.Dir(path)}
	if err := m.recover(); err != nil {
		f.Close()
		return nil, err
	}
	return m, nil
}

// Close closes the manifest file.
func (m *Manifest) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.f.Close()
}

// Cut returns the torn tails cut off since the manifest was opened (normally
// none; one after a crash mid-append).
func (m *Manifest) Cut() []TornTail {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]TornTail(nil), m.cut...)
}

// LastSeq re-reads the end of the manifest and returns the seq of its last
// complete line (0 for an empty manifest), cutting a torn final line first.
// After a crash between the state commit and the manifest append, the caller
// appends every state item with a higher seq.
func (m *Manifest) LastSeq() (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.recover(); err != nil {
		return 0, err
	}
	return m.last, nil
}

// Path is the manifest's file.
func (m *Manifest) Path() string { return m.path }

// SetLineage names the state the manifest is kept for: Append writes the
// lineage on every line that has none.
func (m *Manifest) SetLineage(lineage string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lineage = lineage
}

// Append writes entries as lines, in order, and fsyncs the file. Seqs must
// be strictly increasing and above the last line's; otherwise nothing is
// written. After an error some of the lines may be on disk: call LastSeq and
// append the state's items after it.
func (m *Manifest) Append(entries []ManifestEntry) error {
	if len(entries) == 0 {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.repair {
		if err := m.recover(); err != nil {
			return err
		}
	}
	var buf bytes.Buffer
	prev := m.last
	for _, e := range entries {
		if e.Lineage == "" {
			e.Lineage = m.lineage
		}
		if err := e.validate(); err != nil {
			return fmt.Errorf("store: manifest entry seq %d is invalid: %v; nothing was appended", e.Seq, err)
		}
		if e.Seq <= prev {
			return fmt.Errorf("store: manifest entry seq %d is not above the previous seq %d; the manifest only grows, nothing was appended (call LastSeq and append the state's items after it)", e.Seq, prev)
		}
		line, err := e.MarshalLine()
		if err != nil {
			return fmt.Errorf("store: encoding manifest entry seq %d: %w", e.Seq, err)
		}
		buf.Write(line)
		prev = e.Seq
	}
	const lost = "the manifest is behind the state (the collected items are safe in the state and the natives folder; the next apply appends the missing lines)"
	if _, err := m.f.Write(buf.Bytes()); err != nil {
		m.repair = true
		return diskFull(fmt.Errorf("store: appending to %s: %w", ManifestFile, err), m.dir, "write", ManifestFile, lost)
	}
	if err := m.f.Sync(); err != nil {
		m.repair = true
		return diskFull(fmt.Errorf("store: syncing %s: %w", ManifestFile, err), m.dir, "sync", ManifestFile, lost)
	}
	m.last = prev
	m.size += int64(buf.Len())
	if m.follow != nil {
		if err := m.follow(buf.Bytes()); err != nil {
			return fmt.Errorf("store: the manifest lines up to seq %d are durable, but what follows the manifest was not updated: %w", prev, err)
		}
	}
	return nil
}

// SetFollower makes Append call fn with the bytes of the lines it wrote,
// once they are durable, under the manifest's lock: a record derived from
// the manifest (the custody log) follows it line for line. An error from
// fn is Append's error; the lines are in the manifest all the same.
func (m *Manifest) SetFollower(fn func(lines []byte) error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.follow = fn
}

// recover finds the last complete line, cuts anything after it, and loads
// its seq. Called with m.mu held.
func (m *Manifest) recover() error {
	fi, err := m.f.Stat()
	if err != nil {
		return fmt.Errorf("store: reading manifest %s: %w", m.path, err)
	}
	end := fi.Size()
	complete, lastLine, err := lastLine(m.f, end)
	if err != nil {
		return fmt.Errorf("store: reading manifest %s: %w", m.path, err)
	}
	if complete < end {
		torn := make([]byte, end-complete)
		if _, err := m.f.ReadAt(torn, complete); err != nil {
			return fmt.Errorf("store: reading the torn end of manifest %s: %w", m.path, err)
		}
		if err := m.f.Truncate(complete); err != nil {
			return fmt.Errorf("store: cutting the torn last line of manifest %s: %w", m.path, err)
		}
		if err := m.f.Sync(); err != nil {
			return fmt.Errorf("store: syncing manifest %s: %w", m.path, err)
		}
		m.cut = append(m.cut, TornTail{Offset: complete, Bytes: torn})
	}
	m.size = complete
	m.last = 0
	if lastLine != nil {
		var head struct {
			Seq *uint64 `json:"seq"`
		}
		if err := json.Unmarshal(lastLine, &head); err != nil || head.Seq == nil {
			return fmt.Errorf("store: the last line of manifest %s is not a manifest entry (%q); the file was changed outside collect, restore it from backup or run collect verify", m.path, truncateForMessage(lastLine))
		}
		m.last = *head.Seq
	}
	m.repair = false
	return nil
}

// lastLine returns the length of the file up to and including its last
// newline, and the last complete line without its newline (nil if none).
func lastLine(r io.ReaderAt, end int64) (int64, []byte, error) {
	const chunk = 64 << 10
	complete := int64(-1)
	var line []byte
	pos := end
	for pos > 0 {
		n := int64(chunk)
		if pos < n {
			n = pos
		}
		pos -= n
		b := make([]byte, n)
		if _, err := r.ReadAt(b, pos); err != nil {
			return 0, nil, err
		}
		for i := len(b) - 1; i >= 0; i-- {
			if b[i] != '\n' {
				continue
			}
			nl := pos + int64(i)
			if complete < 0 {
				complete = nl + 1
				continue
			}
			// nl is the newline before the last complete line.
			line = make([]byte, complete-1-(nl+1))
			_, err := r.ReadAt(line, nl+1)
			return complete, line, err
		}
	}
	if complete < 0 {
		return 0, nil, nil
	}
	line = make([]byte, complete-1)
	_, err := r.ReadAt(line, 0)
	return complete, line, err
}

// ReadManifest calls fn for every complete line of the manifest at path, in
// file order. It stops at fn's first error. A final partial line is returned
// as a *TornTailError after all complete lines were delivered; a missing file
// is an empty manifest.
func ReadManifest(path string, fn func(ManifestEntry) error) error {
	return scanManifest(path, func(lineNo int, line []byte) error {
		var e ManifestEntry
		if err := json.Unmarshal(line, &e); err != nil {
			return fmt.Errorf("store: manifest %s line %d is not a manifest entry: %v", path, lineNo, err)
		}
		return fn(e)
	})
}

// ScanManifest calls fn with each complete line of the manifest at path
// (newline included), exactly as its bytes are on disk, numbered from 1.
// A final partial line is returned as a *TornTailError after all complete
// lines were delivered; a missing file is an empty manifest.
func ScanManifest(path string, fn func(lineNo int, line []byte) error) error {
	return scanManifest(path, fn)
}

// scanManifest calls fn with each complete line (newline included).
func scanManifest(path string, fn func(lineNo int, line []byte) error) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: opening manifest: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	var off int64
	for lineNo := 1; ; lineNo++ {
		line, err := r.ReadBytes('\n')
		if err == io.EOF {
			if len(line) > 0 {
				return &TornTailError{TornTail{Offset: off, Bytes: line}}
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("store: reading manifest %s: %w", path, err)
		}
		if err := fn(lineNo, line); err != nil {
			return err
		}
		off += int64(len(line))
	}
}

func isSHA256Hex(s string) bool {
	if len(s) != sha256HexSize {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func truncateForMessage(b []byte) string {
	const max = 120
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}
