package export

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/collect-ediscovery/collect/config"
	"github.com/collect-ediscovery/collect/internal/record"
	"github.com/collect-ediscovery/collect/state"
	"github.com/collect-ediscovery/collect/store"
)

// FormatVersion is the version of the export record's layout.
const FormatVersion = "1"

// DefaultDir is where volumes go, inside the output folder, unless told otherwise.
const DefaultDir = "exports"

// LargeNative is the size above which a message is read as a stream,
// part by part, instead of whole (see stream.go).
const LargeNative = 32 << 20

// ErrNothingToExport says that the selection holds no collected message.
var ErrNothingToExport = errors.New("nothing to export")

// Options choose what an export writes.
type Options struct {
	Format  string // dat, csv or jsonl; "" is the matter's
	Profile string // relativity, doj or reveal; "" is the matter's
	Run     string // only what this run collected
	Since   string // only what runs after this one collected
	Out     string // the exports folder; "" is <output>/exports
	// Now is the clock of the export record; nil means time.Now.
	Now         func() time.Time
	ToolVersion string
	// BatchSize is how many messages share one state transaction.
	BatchSize int
	// LargeNative overrides the size above which parts are not extracted.
	LargeNative int64
}

// Result says what an export wrote.
type Result struct {
	Dir         string // the volume folder
	Volume      state.ExportVolume
	Attachments int // child records
	Duplicates  int // records with DUPLICATE_OF
	WithErrors  int // records with PARSE_ERRORS
	NewNumbers  int // control numbers given for the first time
}

// volumeRecord is the export record, export.json in each volume.
type volumeRecord struct {
	FormatVersion  string      `json:"format_version"`
	Volume         string      `json:"volume"`
	Matter         string      `json:"matter"`
	CreatedAt      time.Time   `json:"created_at"`
	ToolVersion    string      `json:"tool_version"`
	Format         string      `json:"format"`
	Profile        string      `json:"profile"`
	Prefix         string      `json:"prefix"`
	Dedupe         string      `json:"dedupe"`
	TimeZone       string      `json:"time_zone"`
	Selection      string      `json:"selection"`
	Runs           []string    `json:"runs"`
	Counts         recordCount `json:"counts"`
	FirstDOCID     string      `json:"first_docid"`
	LastDOCID      string      `json:"last_docid"`
	LoadFile       string      `json:"load_file"`
	LoadFileSHA256 string      `json:"load_file_sha256"`
	Columns        []string    `json:"columns"`
}

type recordCount struct {
	Messages          int `json:"messages"`
	Records           int `json:"records"`
	Attachments       int `json:"attachments"`
	Duplicates        int `json:"duplicates"`
	WithParseErrors   int `json:"with_parse_errors"`
	NewControlNumbers int `json:"new_control_numbers"`
}

// Export writes the next volume of the matter's production from the state
// and the natives in the output folder. db must be open for writing: the
// control numbers it gives are kept there.
func Export(ctx context.Context, m *config.Matter, db *state.DB, opts Options) (*Result, error) {
	e, err := newExporter(m, opts)
	if err != nil {
		return nil, err
	}
	return e.run(ctx, db)
}

type exporter struct {
	m       *config.Matter
	opts    Options
	profile Profile
	cols    []Column
	format  string
	now     time.Time
	out     string
	names   map[string]string // custodian label -> name shown
}

func newExporter(m *config.Matter, opts Options) (*exporter, error) {
	if opts.Run != "" && opts.Since != "" {
		return nil, errors.New("choose -run or -since, not both")
	}
	e := &exporter{m: m, opts: opts, format: m.Export.Format, names: map[string]string{}}
	if opts.Format != "" {
		e.format = opts.Format
	}
	if !slices.Contains(config.ExportFormats, e.format) {
		return nil, fmt.Errorf("there is no load file format %q; use dat, csv or jsonl", e.format)
	}
	name := m.Export.Profile
	if opts.Profile != "" {
		name = opts.Profile
	}
	p, err := ProfileNamed(name)
	if err != nil {
		return nil, err
	}
	e.profile = p
	e.cols = Columns(p, m.Export.Rename, m.Export.Drop)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	e.now = opts.Now().UTC()
	if opts.BatchSize < 1 {
		e.opts.BatchSize = 256
	}
	if opts.LargeNative <= 0 {
		e.opts.LargeNative = LargeNative
	}
	e.out = opts.Out
	if e.out == "" {
		e.out = filepath.Join(m.Output.Path, DefaultDir)
	}
	for _, c := range m.Custodians {
		if c.DisplayName != "" {
			e.names[c.Name] = c.DisplayName
		}
	}
	return e, nil
}

// selection says which runs' items are exported.
type selection struct {
	label string
	runs  map[string]bool // nil: every run
}

func (e *exporter) selection(r *state.ReadTx) (selection, error) {
	if e.opts.Run == "" && e.opts.Since == "" {
		return selection{label: "all"}, nil
	}
	want := e.opts.Run
	if want == "" {
		want = e.opts.Since
	}
	var ids []string
	found := -1
	if err := r.Runs(func(run record.Run) error {
		if run.RunID == want {
			found = len(ids)
		}
		ids = append(ids, run.RunID)
		return nil
	}); err != nil {
		return selection{}, err
	}
	if found < 0 {
		hint := "the state records no run yet: run collect apply first"
		if len(ids) > 0 {
			hint = "runs in the state, oldest first: " + strings.Join(clipList(ids, 10), ", ")
		}
		return selection{}, fmt.Errorf("the state has no run %q (%s)", want, hint)
	}
	s := selection{runs: map[string]bool{}}
	if e.opts.Run != "" {
		s.label = "run=" + want
		s.runs[want] = true
	} else {
		s.label = "since=" + want
		for _, id := range ids[found+1:] {
			s.runs[id] = true
		}
	}
	return s, nil
}

func clipList(ss []string, n int) []string {
	if len(ss) <= n {
		return ss
	}
	return append(slices.Clone(ss[len(ss)-n:]), fmt.Sprintf("and %d older", len(ss)-n))
}

// family is one collected message and what was extracted from it, in
// load file order: the message first, each child after its parent.
type family struct {
	item    state.Item
	mailbox string // primary address
	members []member
}

type member struct {
	doc    *Doc
	part   string // "" for the message; "1", "1.2", ...
	parent int    // index of the parent in members; -1 for the message
	docid  string
	kids   []int
}

func flatten(f *family, d *Doc, part string, parent int) {
	idx := len(f.members)
	f.members = append(f.members, member{doc: d, part: part, parent: parent})
	if parent >= 0 {
		f.members[parent].kids = append(f.members[parent].kids, idx)
	}
	for i, c := range d.Children {
		p := fmt.Sprint(i + 1)
		if part != "" {
			p = part + "." + p
		}
		flatten(f, c, p, idx)
	}
}

var errBatchFull = errors.New("batch full")

func (e *exporter) run(ctx context.Context, db *state.DB) (*Result, error) {
	var sel selection
	lastVol := 0
	var lastNumber uint64
	err := db.View(func(r *state.ReadTx) error {
		var err error
		if sel, err = e.selection(r); err != nil {
			return err
		}
		lastNumber = r.LastControlNumber()
		return r.ExportVolumes(func(v state.ExportVolume) error {
			lastVol = max(lastVol, v.Number)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	disk, err := readOnDisk(e.out)
	if err != nil {
		return nil, fmt.Errorf("read the exports folder %s: %w", e.out, err)
	}
	if disk.lastNumber > lastNumber {
		// The numbers were given by another state, or by this one before
		// it was rebuilt or replaced: numbering on would give them twice.
		return nil, fmt.Errorf("%s in %s gave control numbers up to %s, but the state has given only %d: "+
			"it is not the state those volumes were exported from (was it rebuilt or replaced?). "+
			"Nothing was exported, so that no control number is given twice: restore the state from its backup, "+
			"or export to another folder with -out", disk.from, e.out, disk.lastDOCID, lastNumber)
	}
	number := max(lastVol, disk.lastVolume) + 1
	name := VolumeName(number)
	vol, err := newVolume(e.out)
	if err != nil {
		return nil, err
	}
	sealed := false
	defer func() {
		if !sealed {
			vol.discard()
		}
	}()
	loadName := name + "." + Extension(e.format)
	lf, err := vol.create(loadName)
	if err != nil {
		return nil, fmt.Errorf("create the load file: %w", err)
	}
	defer lf.Close()
	sum := sha256.New()
	w, err := NewLoadFile(e.format, io.MultiWriter(lf, sum))
	if err != nil {
		return nil, err
	}
	if err := w.Header(e.cols); err != nil {
		return nil, err
	}
	res := &Result{Volume: state.ExportVolume{Number: number, Name: name, At: e.now, Format: e.format,
		Profile: e.profile.Name, Selection: sel.label, LoadFile: loadName}}
	runs := map[string]bool{}
	mailboxes := map[string]string{}
	var after uint64
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var batch []state.Item
		err := db.View(func(r *state.ReadTx) error {
			err := r.ItemsSince(after, func(it state.Item) error {
				after = it.Seq
				if sel.runs != nil && !sel.runs[it.RunID] {
					return nil
				}
				if _, ok := mailboxes[it.Mailbox]; !ok {
					mb, _, err := r.Mailbox(it.Mailbox)
					if err != nil {
						return err
					}
					mailboxes[it.Mailbox] = strings.ToLower(mb.Address)
				}
				batch = append(batch, it)
				if len(batch) >= e.opts.BatchSize {
					return errBatchFull
				}
				return nil
			})
			if errors.Is(err, errBatchFull) {
				return nil
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		if len(batch) == 0 {
			break
		}
		fams := e.extractBatch(vol, batch, mailboxes)
		for _, it := range batch {
			runs[it.RunID] = true
		}
		all := map[*family][]string{}
		firsts := map[*family]string{}
		err = db.Update(func(tx *state.Tx) error {
			for _, f := range fams {
				if err := e.number(tx, f, res); err != nil {
					return err
				}
				cs, err := allCustodians(&tx.ReadTx, f.item)
				if err != nil {
					return err
				}
				all[f] = cs
				if key := e.dedupeKey(f); key != "" {
					first, err := tx.FirstWithKeyOrPut(key, f.members[0].docid)
					if err != nil {
						return err
					}
					firsts[f] = first
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("record control numbers in the state: %w", err)
		}
		for _, f := range fams {
			for i := range f.members {
				rec := e.record(f, i, all[f], firsts[f])
				if len(rec["PARSE_ERRORS"]) > 0 {
					res.WithErrors++
				}
				if rec.first("DUPLICATE_OF") != "" {
					res.Duplicates++
				}
				if err := w.Write(e.cols, rec); err != nil {
					return nil, fmt.Errorf("write the load file: %w", err)
				}
			}
			res.Volume.Messages++
			res.Volume.Records += len(f.members)
			res.Attachments += len(f.members) - 1
			if res.Volume.FirstDOCID == "" {
				res.Volume.FirstDOCID = f.members[0].docid
			}
			res.Volume.LastDOCID = f.members[len(f.members)-1].docid
		}
	}
	if res.Volume.Messages == 0 {
		return nil, ErrNothingToExport
	}
	if err := w.Flush(); err != nil {
		return nil, fmt.Errorf("write the load file: %w", err)
	}
	if err := lf.Close(); err != nil {
		return nil, fmt.Errorf("write the load file: %w", err)
	}
	res.Volume.LoadFileSHA256 = hex.EncodeToString(sum.Sum(nil))
	for id := range runs {
		res.Volume.Runs = append(res.Volume.Runs, id)
	}
	slices.Sort(res.Volume.Runs)
	if err := e.writeRecord(vol, res); err != nil {
		return nil, err
	}
	dir, err := vol.seal(e.out, name, []string{loadName, RecordFile})
	if err != nil {
		return nil, fmt.Errorf("complete volume %s: %w", name, err)
	}
	sealed = true
	res.Dir = dir
	if err := db.Update(func(tx *state.Tx) error { return tx.PutExportVolume(res.Volume) }); err != nil {
		return res, fmt.Errorf("volume %s is complete in %s, but recording it in the state failed: %w", name, dir, err)
	}
	return res, nil
}

func (e *exporter) writeRecord(vol *volume, res *Result) error {
	rec := volumeRecord{
		FormatVersion: FormatVersion, Volume: res.Volume.Name, Matter: e.m.Name, CreatedAt: e.now,
		ToolVersion: e.opts.ToolVersion, Format: e.format, Profile: e.profile.Name,
		Prefix: e.m.Export.Prefix, Dedupe: e.m.Export.Dedupe, TimeZone: e.m.TimeZone.String(),
		Selection: res.Volume.Selection, Runs: res.Volume.Runs,
		Counts: recordCount{Messages: res.Volume.Messages, Records: res.Volume.Records, Attachments: res.Attachments,
			Duplicates: res.Duplicates, WithParseErrors: res.WithErrors, NewControlNumbers: res.NewNumbers},
		FirstDOCID: res.Volume.FirstDOCID, LastDOCID: res.Volume.LastDOCID,
		LoadFile: res.Volume.LoadFile, LoadFileSHA256: res.Volume.LoadFileSHA256,
	}
	for _, c := range e.cols {
		rec.Columns = append(rec.Columns, c.Name)
	}
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	f, err := vol.create(RecordFile)
	if err != nil {
		return fmt.Errorf("write the export record: %w", err)
	}
	_, err = f.Write(append(data, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write the export record: %w", err)
	}
	return nil
}

// docid formats control number n.
func (e *exporter) docid(n uint64) string {
	return fmt.Sprintf("%s%0*d", e.m.Export.Prefix, e.m.Export.Digits, n)
}

// number gives each member of a family its DOCID, keeping those given before.
func (e *exporter) number(tx *state.Tx, f *family, res *Result) error {
	for i := range f.members {
		docid, fresh, err := tx.AssignControlNumber(state.ControlKey{Mailbox: f.item.Mailbox, ItemID: f.item.ID, Part: f.members[i].part}, e.docid)
		if err != nil {
			return err
		}
		if fresh {
			res.NewNumbers++
		}
		f.members[i].docid = docid
	}
	return nil
}

// allCustodians lists the custodians of every collected copy of the
// message: those with its internetMessageId, or else its SHA-256.
func allCustodians(r *state.ReadTx, it state.Item) ([]string, error) {
	var refs []state.ItemRef
	var err error
	if it.InternetMessageID != "" {
		refs, err = r.ItemsByInternetMessageID(it.InternetMessageID)
	} else if it.SHA256 != "" {
		refs, err = r.ItemsBySHA256(it.SHA256)
	}
	if err != nil {
		return nil, err
	}
	out := slices.Clone(it.Custodians)
	for _, ref := range refs {
		other, found, err := r.Item(ref.Mailbox, ref.ID)
		if err != nil {
			return nil, err
		}
		if !found || !other.Collected() {
			continue
		}
		for _, c := range other.Custodians {
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	return out, nil
}

// dedupeKey is the key a message is deduplicated by in the matter's
// scope: its message identification hash, else its email field hash,
// else the SHA-256 of its native; "" when the matter does not deduplicate.
func (e *exporter) dedupeKey(f *family) string {
	d := f.members[0].doc
	key := "mih:" + d.MessageIDHash
	switch {
	case d.MessageIDHash != "":
	case d.FieldHash != "":
		key = "field:" + d.FieldHash
	case d.File.SHA256 != "":
		key = "sha256:" + d.File.SHA256
	default:
		return ""
	}
	switch e.m.Export.Dedupe {
	case config.DedupeNone:
		return ""
	case config.DedupeCustodian:
		c := ""
		if len(f.item.Custodians) > 0 {
			c = f.item.Custodians[0]
		}
		return "custodian\x00" + c + "\x00" + key
	}
	return "global\x00" + key
}

// extractBatch reads the messages of a batch on every core; the families
// come back in the batch's order.
func (e *exporter) extractBatch(vol *volume, batch []state.Item, mailboxes map[string]string) []*family {
	fams := make([]*family, len(batch))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(batch)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := newExtractor(vol)
			for i := range next {
				it := batch[i]
				f := &family{item: it, mailbox: mailboxes[it.Mailbox]}
				flatten(f, e.readMessage(x, vol, it), "", -1)
				fams[i] = f
			}
		}()
	}
	for i := range batch {
		next <- i
	}
	close(next)
	wg.Wait()
	return fams
}

// readMessage extracts a collected message. It never fails: a native that
// cannot be read still gives a record, with PARSE_ERRORS saying why.
func (e *exporter) readMessage(x *extractor, vol *volume, it state.Item) *Doc {
	d := &Doc{Kind: KindEmail}
	src := filepath.Join(e.m.Output.Path, filepath.FromSlash(it.Native))
	f, err := os.Open(src)
	if err != nil {
		d.problem("the native %s could not be read (%v): run collect verify", it.Native, err)
		d.Subject, d.From = it.Subject, it.From
		d.File = Stored{SHA256: it.SHA256, MD5: it.MD5, SHA1: it.SHA1, Size: it.Size}
		return d
	}
	defer f.Close()
	h := newHashes()
	if it.Size > e.opts.LargeNative {
		x.streamMessage(d, io.TeeReader(f, h), 0, LargeNative)
	} else {
		// Sized to the native, so that reading it never grows a buffer.
		buf := bytes.NewBuffer(make([]byte, 0, max(it.Size, 0)+bytes.MinRead))
		if _, err := buf.ReadFrom(io.TeeReader(f, h)); err != nil {
			d.problem("the native %s could not be read whole (%v)", it.Native, err)
		}
		x.message(d, buf.Bytes(), 0)
	}
	d.File = h.stored()
	if d.File.SHA256 != it.SHA256 {
		d.problem("the native's SHA-256 is not the one the state recorded: run collect verify")
	}
	rel := store.NativePath(d.File.SHA256)
	if err := vol.addNative(src, rel); err != nil {
		d.problem("the native could not be put in the volume: %v", err)
	} else {
		d.File.Path = rel
	}
	return d
}
