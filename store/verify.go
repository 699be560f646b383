package store

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"iter"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
)

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// Workers is the number of natives hashed in parallel (default 2).
	Workers int
	// Running says that an apply is writing the output folder while the
	// expected items come from a snapshot of its state: manifest lines
	// newer than the snapshot are checked against their natives instead of
	// the state, a missing line after the manifest's last one is the line
	// the apply appends next, and natives and partial files newer than the
	// snapshot are the apply's work in flight, counted in Unrecorded and
	// InFlight rather than reported as wrong.
	Running bool
}

// FieldDiff is one field whose value differs: Want is what the state
// records, Got what the file or the manifest line holds.
type FieldDiff struct {
	Field string // "size", "sha256", "md5", "sha1", or a manifest field such as "path"
	Want  string
	Got   string
}

func (d FieldDiff) String() string {
	return fmt.Sprintf("%s is %s, the state says %s", d.Field, shortValue(d.Got), shortValue(d.Want))
}

func shortValue(v string) string {
	const most = 80
	if len(v) > most {
		return v[:most] + "..."
	}
	return v
}

// NativeProblem is a native that is not what the state says: one per file,
// however many of its fields differ.
type NativeProblem struct {
	Path    string      // relative to the output folder
	Problem string      // "changed", "not a regular file", "unreadable"
	Detail  string      // why it is unreadable
	Fields  []FieldDiff // for "changed": size, sha256, md5, sha1, in that order
}

func (p NativeProblem) String() string {
	switch {
	case len(p.Fields) > 0:
		diffs := make([]string, len(p.Fields))
		for i, d := range p.Fields {
			diffs[i] = d.String()
		}
		return p.Path + ": " + strings.Join(diffs, "; ")
	case p.Detail != "":
		return p.Path + ": " + p.Problem + ": " + p.Detail
	}
	return p.Path + ": " + p.Problem
}

// FieldNames lists the fields that differ, "size, sha256".
func (p NativeProblem) FieldNames() string {
	names := make([]string, len(p.Fields))
	for i, d := range p.Fields {
		names[i] = d.Field
	}
	return strings.Join(names, ", ")
}

// ManifestProblem is a manifest line that disagrees with the state, or a
// state item without its line.
type ManifestProblem struct {
	Seq     uint64 // 0 when the line could not be read
	Line    int    // line number in manifest.jsonl, 0 when the line is missing
	Problem string
	Fields  []FieldDiff // the fields of the line that differ from the state
}

func (p ManifestProblem) String() string {
	switch {
	case p.Line == 0:
		return fmt.Sprintf("seq %d: %s", p.Seq, p.Problem)
	case p.Seq == 0:
		return fmt.Sprintf("line %d: %s", p.Line, p.Problem)
	}
	return fmt.Sprintf("line %d (seq %d): %s", p.Line, p.Seq, p.Problem)
}

// Report is the result of Verify. Paths are relative to the output folder.
type Report struct {
	Items         int   // state items checked
	Natives       int   // distinct natives the state expects
	Verified      int   // natives re-hashed and found intact
	Bytes         int64 // bytes re-hashed
	ManifestLines int   // complete lines read

	Missing       []string        // natives the state expects that are not on disk
	Changed       []NativeProblem // natives whose bytes are not the ones recorded, one per file
	Unexpected    []string        // files under natives/ the state does not know
	LeftoverTemps []string        // temp files of an interrupted run (not evidence; Clean removes them)
	Manifest      []ManifestProblem
	State         []string // inconsistencies inside the expected list itself

	// With VerifyOptions.Running: the running apply's work after the snapshot.
	Newer      int      // manifest lines newer than the snapshot, checked against their natives
	Pending    int      // state items whose line the apply appends next
	Unrecorded []string // natives not yet recorded in the manifest or the snapshot
	InFlight   int      // partial files being written
}

// OK is true when every native and every manifest line is as the state says.
// Leftover temp files alone do not make a collection wrong.
func (r Report) OK() bool {
	return len(r.Missing) == 0 && len(r.Changed) == 0 && len(r.Unexpected) == 0 &&
		len(r.Manifest) == 0 && len(r.State) == 0
}

type expectedNative struct {
	size      int64
	md5, sha1 string
	found     bool
}

type expectedLine struct {
	digest [32]byte // SHA-256 of the line the state would write
	// legacy is the SHA-256 of that line as collect wrote it before lines
	// named the mailbox ID and the state's lineage.
	legacy [32]byte
	seen   int // line number where it was found
}

// Verify re-hashes every native in the output folder dir and cross-checks
// manifest.jsonl against expected, which yields every item of the state as
// the manifest entry the state would append for it. It only reads.
// expected is read a second time when manifest lines differ from it, to
// name the fields that differ.
func Verify(ctx context.Context, dir string, expected iter.Seq[ManifestEntry], opts VerifyOptions) (Report, error) {
	var rep Report
	natives := map[string]*expectedNative{}
	lines := map[uint64]*expectedLine{}
	var lastSeq uint64
	for e := range expected {
		rep.Items++
		line, err := e.MarshalLine()
		if err != nil {
			return rep, fmt.Errorf("store: encoding state item seq %d: %w", e.Seq, err)
		}
		if err := e.validate(); err != nil {
			rep.State = append(rep.State, fmt.Sprintf("seq %d: %v", e.Seq, err))
			continue
		}
		if _, dup := lines[e.Seq]; dup {
			rep.State = append(rep.State, fmt.Sprintf("seq %d appears more than once", e.Seq))
			continue
		}
		lastSeq = max(lastSeq, e.Seq)
		old := e
		old.MailboxID, old.Lineage = "", ""
		oldLine, err := old.MarshalLine()
		if err != nil {
			return rep, fmt.Errorf("store: encoding state item seq %d: %w", e.Seq, err)
		}
		lines[e.Seq] = &expectedLine{digest: sha256.Sum256(line), legacy: sha256.Sum256(oldLine)}
		n := natives[e.SHA256]
		if n == nil {
			natives[e.SHA256] = &expectedNative{size: e.Size, md5: e.MD5, sha1: e.SHA1}
			continue
		}
		if n.size != e.Size || conflict(n.md5, e.MD5) || conflict(n.sha1, e.SHA1) {
			rep.State = append(rep.State, fmt.Sprintf("seq %d: sha256 %s is recorded with different size or hashes by different items", e.Seq, e.SHA256))
		}
		if n.md5 == "" {
			n.md5 = e.MD5
		}
		if n.sha1 == "" {
			n.sha1 = e.SHA1
		}
	}
	rep.Natives = len(natives)

	// The manifest first: with an apply running, its lines newer than the
	// snapshot say which natives are expected besides the state's.
	differ := verifyManifest(filepath.Join(dir, ManifestFile), lines, lastSeq, natives, opts, &rep)
	if len(differ) > 0 {
		nameDifferences(expected, differ, &rep)
	}
	if err := verifyNatives(ctx, dir, natives, opts, &rep); err != nil {
		return rep, err
	}
	for sum, n := range natives {
		if !n.found {
			rep.Missing = append(rep.Missing, NativePath(sum))
		}
	}

	sort.Strings(rep.Missing)
	sort.Strings(rep.Unexpected)
	sort.Strings(rep.Unrecorded)
	sort.Strings(rep.LeftoverTemps)
	sort.Strings(rep.State)
	slices.SortFunc(rep.Changed, func(a, b NativeProblem) int { return strings.Compare(a.Path, b.Path) })
	slices.SortStableFunc(rep.Manifest, func(a, b ManifestProblem) int {
		// Problems found in the file come in line order, missing lines after them in seq order.
		ka, kb := a.Line, b.Line
		if ka == 0 {
			ka = int(^uint(0) >> 1)
		}
		if kb == 0 {
			kb = int(^uint(0) >> 1)
		}
		if ka != kb {
			return ka - kb
		}
		switch {
		case a.Seq < b.Seq:
			return -1
		case a.Seq > b.Seq:
			return 1
		}
		return 0
	})
	return rep, nil
}

func conflict(a, b string) bool { return a != "" && b != "" && a != b }

type hashJob struct {
	rel string
	abs string
	sum string
	exp expectedNative
}

// verifyNatives walks natives/, sorts files into expected, unexpected and
// temp, and re-hashes the expected ones on opts.Workers goroutines.
func verifyNatives(ctx context.Context, dir string, natives map[string]*expectedNative, opts VerifyOptions, rep *Report) error {
	root := filepath.Join(dir, NativesDir)
	top, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil // every expected native is missing
	}
	if err != nil {
		return fmt.Errorf("store: listing %s: %w", root, err)
	}
	var jobs []hashJob
	for _, t := range top {
		rel := NativesDir + "/" + t.Name()
		switch {
		case t.IsDir() && rel == TempDir:
			entries, err := os.ReadDir(filepath.Join(root, t.Name()))
			if err != nil {
				return fmt.Errorf("store: listing %s: %w", rel, err)
			}
			for _, e := range entries {
				p := rel + "/" + e.Name()
				switch {
				case e.Type().IsRegular() && strings.HasPrefix(e.Name(), TempPrefix) && opts.Running:
					rep.InFlight++
				case e.Type().IsRegular() && strings.HasPrefix(e.Name(), TempPrefix):
					rep.LeftoverTemps = append(rep.LeftoverTemps, p)
				default:
					rep.Unexpected = append(rep.Unexpected, p)
				}
			}
		case t.IsDir() && isShard(t.Name()):
			entries, err := os.ReadDir(filepath.Join(root, t.Name()))
			if err != nil {
				return fmt.Errorf("store: listing %s: %w", rel, err)
			}
			for _, e := range entries {
				p := rel + "/" + e.Name()
				sum, ok := strings.CutSuffix(e.Name(), nativeExt)
				n := natives[sum]
				if !ok || n == nil || sum[:shardLen] != t.Name() {
					if opts.Running && ok && n == nil && isSHA256Hex(sum) && sum[:shardLen] == t.Name() {
						// Sealed by the running apply, not recorded yet.
						rep.Unrecorded = append(rep.Unrecorded, p)
					} else {
						rep.Unexpected = append(rep.Unexpected, p)
					}
					continue
				}
				n.found = true
				if !e.Type().IsRegular() {
					rep.Changed = append(rep.Changed, NativeProblem{Path: p, Problem: "not a regular file"})
					continue
				}
				jobs = append(jobs, hashJob{rel: p, abs: filepath.Join(root, t.Name(), e.Name()), sum: sum, exp: *n})
			}
		default:
			rep.Unexpected = append(rep.Unexpected, rel)
		}
	}

	workers := opts.Workers
	if workers <= 0 {
		workers = 2
	}
	ch := make(chan hashJob)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for j := range ch {
				problem, size := checkNative(j)
				mu.Lock()
				rep.Bytes += size
				if problem == nil {
					rep.Verified++
				} else {
					rep.Changed = append(rep.Changed, *problem)
				}
				mu.Unlock()
			}
		})
	}
	var cerr error
	for _, j := range jobs {
		if cerr = ctx.Err(); cerr != nil {
			break
		}
		ch <- j
	}
	close(ch)
	wg.Wait()
	return cerr
}

func isShard(name string) bool {
	return len(name) == shardLen && isLowerHex(name)
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// checkNative re-hashes one native; it returns its problem, if any, and
// the bytes read.
func checkNative(j hashJob) (*NativeProblem, int64) {
	f, err := os.Open(j.abs)
	if err != nil {
		return &NativeProblem{Path: j.rel, Problem: "unreadable", Detail: err.Error()}, 0
	}
	defer f.Close()
	s256 := sha256.New()
	ws := []io.Writer{s256}
	var m5, s1 hash.Hash
	if j.exp.md5 != "" {
		m5 = md5.New()
		ws = append(ws, m5)
	}
	if j.exp.sha1 != "" {
		s1 = sha1.New()
		ws = append(ws, s1)
	}
	buf := make([]byte, 256<<10)
	size, err := io.CopyBuffer(io.MultiWriter(ws...), f, buf)
	if err != nil {
		return &NativeProblem{Path: j.rel, Problem: "unreadable", Detail: err.Error()}, size
	}
	var diffs []FieldDiff
	if size != j.exp.size {
		diffs = append(diffs, FieldDiff{Field: "size", Want: fmt.Sprint(j.exp.size), Got: fmt.Sprint(size)})
	}
	if got := hex.EncodeToString(s256.Sum(nil)); got != j.sum {
		diffs = append(diffs, FieldDiff{Field: "sha256", Want: j.sum, Got: got})
	}
	if m5 != nil {
		if got := hex.EncodeToString(m5.Sum(nil)); got != j.exp.md5 {
			diffs = append(diffs, FieldDiff{Field: "md5", Want: j.exp.md5, Got: got})
		}
	}
	if s1 != nil {
		if got := hex.EncodeToString(s1.Sum(nil)); got != j.exp.sha1 {
			diffs = append(diffs, FieldDiff{Field: "sha1", Want: j.exp.sha1, Got: got})
		}
	}
	if len(diffs) == 0 {
		return nil, size
	}
	return &NativeProblem{Path: j.rel, Problem: "changed", Fields: diffs}, size
}

// lineDiff is a manifest line that differs from the state's entry: the
// problem it is reported as, to be told which fields differ.
type lineDiff struct {
	problem int // index in Report.Manifest
	line    []byte
}

// verifyManifest compares every line with the state's entry of the same
// seq, and returns the lines that differ from it by seq. lastSeq is the
// highest seq the state holds.
func verifyManifest(path string, lines map[uint64]*expectedLine, lastSeq uint64, natives map[string]*expectedNative, opts VerifyOptions, rep *Report) map[uint64]*lineDiff {
	var prev uint64
	differ := map[uint64]*lineDiff{}
	add := func(p ManifestProblem) { rep.Manifest = append(rep.Manifest, p) }
	err := scanManifest(path, func(lineNo int, line []byte) error {
		rep.ManifestLines++
		var e ManifestEntry
		if err := json.Unmarshal(line, &e); err != nil {
			add(ManifestProblem{Line: lineNo, Problem: "not a manifest entry: " + err.Error()})
			return nil
		}
		if e.Seq <= prev {
			add(ManifestProblem{Seq: e.Seq, Line: lineNo, Problem: fmt.Sprintf("seq is not above the previous line's %d", prev)})
		}
		prev = max(prev, e.Seq)
		want := lines[e.Seq]
		switch {
		case want == nil && opts.Running && e.Seq > lastSeq && e.validate() == nil:
			// Collected after the snapshot: its native is checked
			// against the line.
			rep.Newer++
			if n := natives[e.SHA256]; n == nil {
				natives[e.SHA256] = &expectedNative{size: e.Size, md5: e.MD5, sha1: e.SHA1}
			}
		case want == nil:
			add(ManifestProblem{Seq: e.Seq, Line: lineNo, Problem: "no such item in the state"})
		case want.seen != 0:
			add(ManifestProblem{Seq: e.Seq, Line: lineNo, Problem: fmt.Sprintf("duplicate of line %d", want.seen)})
		default:
			want.seen = lineNo
			if sum := sha256.Sum256(line); sum != want.digest && sum != want.legacy {
				differ[e.Seq] = &lineDiff{problem: len(rep.Manifest), line: slices.Clone(line)}
				add(ManifestProblem{Seq: e.Seq, Line: lineNo, Problem: "differs from the state"})
			}
		}
		return nil
	})
	var torn *TornTailError
	switch {
	case errors.As(err, &torn):
		add(ManifestProblem{Line: rep.ManifestLines + 1, Problem: torn.Error()})
	case err != nil:
		add(ManifestProblem{Problem: err.Error()})
	}
	for seq, l := range lines {
		switch {
		case l.seen != 0:
		case seq > prev && opts.Running:
			rep.Pending++
		case seq > prev:
			// Apply appends what the state holds beyond the last line.
			add(ManifestProblem{Seq: seq, Problem: "the state has this item but the manifest has no line for it (the next apply appends it)"})
		default:
			add(ManifestProblem{Seq: seq, Problem: fmt.Sprintf("the state has this item but its line is gone from the manifest "+
				"(which holds lines up to seq %d); apply writes lines only after the last one, so it does not restore this line: "+
				"restore %s from a copy (the state and the native still hold the item)", prev, ManifestFile)})
		}
	}
	return differ
}

// manifestFields are the manifest's field names in the order of a line.
var manifestFields = func() []string {
	t := reflect.TypeFor[ManifestEntry]()
	names := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		names = append(names, name)
	}
	return names
}()

// nameDifferences reads expected again to tell, for each line that differs
// from the state, which fields differ and how.
func nameDifferences(expected iter.Seq[ManifestEntry], differ map[uint64]*lineDiff, rep *Report) {
	for e := range expected {
		d := differ[e.Seq]
		if d == nil {
			continue
		}
		want, err := e.MarshalLine()
		if err != nil {
			continue
		}
		var wm, gm map[string]json.RawMessage
		if json.Unmarshal(want, &wm) != nil || json.Unmarshal(d.line, &gm) != nil {
			continue
		}
		p := &rep.Manifest[d.problem]
		var named []string
		for _, f := range manifestFields {
			w, g := wm[f], gm[f]
			if sameJSON(w, g) {
				continue
			}
			diff := FieldDiff{Field: f, Want: jsonText(w), Got: jsonText(g)}
			p.Fields = append(p.Fields, diff)
			named = append(named, fmt.Sprintf("%s (the line says %s, the state %s)", f, shortValue(diff.Got), shortValue(diff.Want)))
		}
		for f := range gm {
			if !slices.Contains(manifestFields, f) {
				p.Fields = append(p.Fields, FieldDiff{Field: f, Got: jsonText(gm[f])})
				named = append(named, fmt.Sprintf("%s (a field the state does not write)", f))
			}
		}
		if len(named) == 0 {
			p.Problem = "differs from the state in its formatting only (every field is equal)"
		} else {
			p.Problem = "differs from the state in " + strings.Join(named, ", ")
		}
		delete(differ, e.Seq)
	}
}

// sameJSON reports whether two JSON values are equal, however written.
func sameJSON(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	if a == nil || b == nil {
		return false
	}
	var va, vb any
	return json.Unmarshal(a, &va) == nil && json.Unmarshal(b, &vb) == nil && reflect.DeepEqual(va, vb)
}

// jsonText shows a JSON value: strings without their quotes, absent as "(none)".
func jsonText(v json.RawMessage) string {
	if v == nil {
		return "(none)"
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	return string(v)
}
