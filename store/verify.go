package store

import (
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
	"slices"
	"sort"
	"strings"
	"sync"
)

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// Workers is the number of natives hashed in parallel (default 2).
	Workers int
}

// NativeProblem is a native that is not what the state says.
type NativeProblem struct {
	Path    string // relative to the output folder
	Problem string // "size", "sha256", "md5", "sha1", "not a regular file", "unreadable"
	Want    string
	Got     string
}

func (p NativeProblem) String() string {
	if p.Want == "" && p.Got == "" {
		return p.Path + ": " + p.Problem
	}
	return fmt.Sprintf("%s: %s is %s, the state says %s", p.Path, p.Problem, p.Got, p.Want)
}

// ManifestProblem is a manifest line that disagrees with the state, or a
// state item without its line.
type ManifestProblem struct {
	Seq     uint64 // 0 when the line could not be read
	Line    int    // line number in manifest.jsonl, 0 when the line is missing
	Problem string
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
	Changed       []NativeProblem // natives whose bytes are not the ones recorded
	Unexpected    []string        // files under natives/ the state does not know
	LeftoverTemps []string        // temp files of an interrupted run (not evidence; Clean removes them)
	Manifest      []ManifestProblem
	State         []string // inconsistencies inside the expected list itself
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
	digest  [32]byte // SHA-256 of the line the state would write
	sha256  string
	size    int64
	graphID string
	mailbox string
	seen    int // line number where it was found
}

// Verify re-hashes every native in the output folder dir and cross-checks
// manifest.jsonl against expected, which yields every item of the state as
// the manifest entry the state would append for it. It only reads.
func Verify(ctx context.Context, dir string, expected iter.Seq[ManifestEntry], opts VerifyOptions) (Report, error) {
	var rep Report
	natives := map[string]*expectedNative{}
	lines := map[uint64]*expectedLine{}
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
		lines[e.Seq] = &expectedLine{digest: sha256.Sum256(line), sha256: e.SHA256, size: e.Size, graphID: e.GraphID, mailbox: strings.ToLower(e.Mailbox)}
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

	if err := verifyNatives(ctx, dir, natives, opts, &rep); err != nil {
		return rep, err
	}
	for sum, n := range natives {
		if !n.found {
			rep.Missing = append(rep.Missing, NativePath(sum))
		}
	}
	verifyManifest(filepath.Join(dir, ManifestFile), lines, &rep)

	sort.Strings(rep.Missing)
	sort.Strings(rep.Unexpected)
	sort.Strings(rep.LeftoverTemps)
	sort.Strings(rep.State)
	slices.SortFunc(rep.Changed, func(a, b NativeProblem) int { return strings.Compare(a.Path+a.Problem, b.Path+b.Problem) })
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
				if e.Type().IsRegular() && strings.HasPrefix(e.Name(), TempPrefix) {
					rep.LeftoverTemps = append(rep.LeftoverTemps, p)
				} else {
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
					rep.Unexpected = append(rep.Unexpected, p)
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
				problems, size := checkNative(j)
				mu.Lock()
				rep.Bytes += size
				if len(problems) == 0 {
					rep.Verified++
				}
				rep.Changed = append(rep.Changed, problems...)
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

// checkNative re-hashes one native; it returns its problems and bytes read.
func checkNative(j hashJob) ([]NativeProblem, int64) {
	f, err := os.Open(j.abs)
	if err != nil {
		return []NativeProblem{{Path: j.rel, Problem: "unreadable", Got: err.Error()}}, 0
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
		return []NativeProblem{{Path: j.rel, Problem: "unreadable", Got: err.Error()}}, size
	}
	var probs []NativeProblem
	if size != j.exp.size {
		probs = append(probs, NativeProblem{Path: j.rel, Problem: "size", Want: fmt.Sprint(j.exp.size), Got: fmt.Sprint(size)})
	}
	if got := hex.EncodeToString(s256.Sum(nil)); got != j.sum {
		probs = append(probs, NativeProblem{Path: j.rel, Problem: "sha256", Want: j.sum, Got: got})
	}
	if m5 != nil {
		if got := hex.EncodeToString(m5.Sum(nil)); got != j.exp.md5 {
			probs = append(probs, NativeProblem{Path: j.rel, Problem: "md5", Want: j.exp.md5, Got: got})
		}
	}
	if s1 != nil {
		if got := hex.EncodeToString(s1.Sum(nil)); got != j.exp.sha1 {
			probs = append(probs, NativeProblem{Path: j.rel, Problem: "sha1", Want: j.exp.sha1, Got: got})
		}
	}
	return probs, size
}

// verifyManifest compares every line with the state's entry of the same seq.
func verifyManifest(path string, lines map[uint64]*expectedLine, rep *Report) {
	var prev uint64
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
		case want == nil:
			add(ManifestProblem{Seq: e.Seq, Line: lineNo, Problem: "no such item in the state"})
		case want.seen != 0:
			add(ManifestProblem{Seq: e.Seq, Line: lineNo, Problem: fmt.Sprintf("duplicate of line %d", want.seen)})
		default:
			want.seen = lineNo
			if sha256.Sum256(line) != want.digest {
				add(ManifestProblem{Seq: e.Seq, Line: lineNo, Problem: "differs from the state in " + differingFields(e, want)})
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
		if l.seen == 0 {
			add(ManifestProblem{Seq: seq, Problem: "the state has this item but the manifest has no line for it (the next apply appends it)"})
		}
	}
}

func differingFields(got ManifestEntry, want *expectedLine) string {
	var f []string
	if got.SHA256 != want.sha256 {
		f = append(f, "sha256")
	}
	if got.Size != want.size {
		f = append(f, "size")
	}
	if got.GraphID != want.graphID {
		f = append(f, "graph_id")
	}
	if got.Mailbox != want.mailbox {
		f = append(f, "mailbox")
	}
	if len(f) == 0 {
		return "other fields or formatting"
	}
	return strings.Join(f, ", ")
}
