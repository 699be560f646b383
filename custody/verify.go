package custody

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/collect-ediscovery/collect/store"
)

// Problem is one thing that does not verify: where (a file, a line, a
// checkpoint) and what is wrong with it.
type Problem struct {
	Where string `json:"where"`
	What  string `json:"what"`
}

func (p Problem) String() string { return p.Where + ": " + p.What }

// VerifyOptions say what a verifier knows besides the output folder.
type VerifyOptions struct {
	// Verifier is the public key the checkpoints must be signed with ("":
	// signatures are not checked, and the report says so).
	Verifier string
	// Origin is the origin every checkpoint must name ("": any one origin).
	Origin string
	// Running says that an apply is writing the output folder: lines after
	// the latest checkpoint are its work, not yet checkpointed.
	Running bool
	// Held names checkpoint files kept outside the output folder, which
	// the log must extend as it extends its own.
	Held []string
}

// Report is what Verify found.
type Report struct {
	Lines       int64     `json:"lines"`       // complete manifest lines
	Records     int64     `json:"records"`     // lines the hash file holds
	Checkpoints int       `json:"checkpoints"` // checkpoint files read
	Signed      int       `json:"signed"`      // of those, signatures that verified
	Included    int64     `json:"included"`    // lines proved included in the latest checkpoint
	Consistent  int       `json:"consistent"`  // checkpoints proved consistent with the one before
	Uncovered   int64     `json:"uncovered"`   // lines after the latest checkpoint
	Latest      *Head     `json:"latest"`      // the latest checkpoint, nil when there is none
	Verifier    string    `json:"verifier"`    // the key signatures were checked with, "" when none
	Problems    []Problem `json:"problems"`
	// NotChecked says what could not be checked, and why.
	NotChecked []string `json:"not_checked"`
}

// Head is a checkpoint as a report shows it.
type Head struct {
	File   string `json:"file"`
	Origin string `json:"origin"`
	Size   int64  `json:"size"`
	Root   string `json:"root"` // base64, as in the checkpoint
	Signed bool   `json:"signed"`
}

// OK is true when nothing failed to verify.
func (r Report) OK() bool { return len(r.Problems) == 0 }

// Add counts into r the report of another log, the one of shard, which
// names its problems and what it could not check. The logs have no
// latest checkpoint in common, so r has none.
func (r *Report) Add(o Report, shard string) {
	r.Lines += o.Lines
	r.Records += o.Records
	r.Checkpoints += o.Checkpoints
	r.Signed += o.Signed
	r.Included += o.Included
	r.Consistent += o.Consistent
	r.Uncovered += o.Uncovered
	r.Latest = nil
	if o.Verifier != "" {
		r.Verifier = o.Verifier
	}
	if r.Problems == nil {
		r.Problems = []Problem{}
	}
	if r.NotChecked == nil {
		r.NotChecked = []string{}
	}
	for _, p := range o.Problems {
		r.Problems = append(r.Problems, Problem{Where: "shard " + shard + ": " + p.Where, What: p.What})
	}
	for _, n := range o.NotChecked {
		r.NotChecked = append(r.NotChecked, "shard "+shard+": "+n)
	}
}

// memHashes is a HashReader over stored hashes held in memory.
type memHashes []tlog.Hash

func (m memHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(m)) {
			return nil, fmt.Errorf("stored hash %d is not in the tree", x)
		}
		out[i] = m[x]
	}
	return out, nil
}

// Verify checks the custody log of the output folder dir offline, from
// the manifest, the hash file and the checkpoints alone: that the hash
// file holds the manifest's lines as they were logged, that every
// checkpoint's signature verifies with the verifier key, that each
// checkpoint is a consistent extension of the one before (a consistency
// proof from the log), and that every manifest line is included in the
// latest checkpoint (an inclusion proof per line). It only reads. The
// natives are not re-hashed here: the manifest's hashes vouch for them.
func Verify(dir string, opts VerifyOptions) (Report, error) {
	rep := Report{Problems: []Problem{}, NotChecked: []string{}}
	add := func(where, format string, args ...any) {
		rep.Problems = append(rep.Problems, Problem{Where: where, What: fmt.Sprintf(format, args...)})
	}

	// The tree the manifest gives, recomputed here: never taken on trust.
	var tree memHashes
	var seqs []uint64
	err := store.ScanManifest(filepath.Join(dir, store.ManifestFile), func(_ int, line []byte) error {
		hs, err := tlog.StoredHashes(rep.Lines, line, tree)
		if err != nil {
			return err
		}
		tree = append(tree, hs...)
		var head struct {
			Seq uint64 `json:"seq"`
		}
		json.Unmarshal(line, &head)
		seqs = append(seqs, head.Seq)
		rep.Lines++
		return nil
	})
	var torn *store.TornTailError
	switch {
	case errors.As(err, &torn) && !opts.Running:
		add(fmt.Sprintf("%s line %d", store.ManifestFile, rep.Lines+1), "%v", torn)
	case err != nil && !errors.As(err, &torn):
		return rep, fmt.Errorf("custody: reading the manifest: %w", err)
	}
	lineName := func(i int64) string {
		if i < int64(len(seqs)) && seqs[i] != 0 {
			return fmt.Sprintf("%s line %d (seq %d)", store.ManifestFile, i+1, seqs[i])
		}
		return fmt.Sprintf("%s line %d", store.ManifestFile, i+1)
	}
	leaf := func(t memHashes, i int64) tlog.Hash { return t[tlog.StoredHashIndex(0, i)] }

	logged, logOK := checkHashFile(dir, tree, rep.Lines, opts.Running, lineName, add)
	rep.Records = recordsIn(int64(len(logged)))

	cps, problems, err := ReadCheckpoints(dir)
	if err != nil {
		return rep, err
	}
	rep.Problems = append(rep.Problems, problems...)
	// Checkpoints kept elsewhere (handed to the other side after a run)
	// join the chain: a folder cut back to an earlier state, with its
	// later checkpoints deleted, does not extend them.
	for _, path := range opts.Held {
		b, err := os.ReadFile(path)
		if err != nil {
			return rep, fmt.Errorf("custody: reading the checkpoint %s: %w", path, err)
		}
		c, err := ParseCheckpoint(path, b)
		if err != nil {
			return rep, fmt.Errorf("custody: %s %v", path, err)
		}
		c.Held = true
		cps = append(cps, c)
	}
	slices.SortStableFunc(cps, func(a, b Checkpoint) int { return cmp.Compare(a.Size, b.Size) })
	rep.Checkpoints = len(cps) + len(problems)
	var verifier note.Verifier
	if opts.Verifier != "" {
		if verifier, err = NewVerifier(opts.Verifier); err != nil {
			return rep, err
		}
		rep.Verifier = opts.Verifier
	}
	origin := opts.Origin
	unsigned, early := 0, 0
	firstSigned := slices.IndexFunc(cps, Checkpoint.Signed)
	for i, c := range cps {
		where := c.Where()
		if origin == "" {
			origin = c.Origin
		}
		if c.Origin != origin {
			add(where, "names the origin %q, not %q: it is a checkpoint of another matter", c.Origin, origin)
		}
		switch {
		case verifier != nil && !c.Signed() && firstSigned >= 0 && i < firstSigned:
			// Written before the matter had a key: the signed checkpoints
			// after it vouch for its lines, as they extend it.
			early++
		case verifier != nil:
			if err := c.checkSignature(verifier); err != nil {
				add(where, "%v", err)
			} else {
				rep.Signed++
			}
		case !c.Signed():
			unsigned++
		}
	}
	if early > 0 {
		what := fmt.Sprintf("signatures of the first %d checkpoints: they are unsigned, written", early)
		if early == 1 {
			what = "the signature of the first checkpoint: it is unsigned, written"
		}
		rep.NotChecked = append(rep.NotChecked, what+" before the matter named its custody key; the signed checkpoints after it extend it and so vouch for its lines")
	}
	switch {
	case len(cps) == 0:
	case verifier == nil && unsigned == len(cps):
		rep.NotChecked = append(rep.NotChecked, "signatures: the checkpoints are not signed (the matter names no custody key), so they show that the log is whole and consistent, not who wrote it")
	case verifier == nil:
		rep.NotChecked = append(rep.NotChecked, "signatures: no verifier key was given (the matter's custody block, or -verifier), so who signed the checkpoints was not checked")
	}

	// Proofs come from the log's own stored hashes when they are whole,
	// as a log would serve them, and otherwise from the manifest's tree.
	proofSource := func(size int64) tlog.HashReader {
		if logOK && rep.Records >= size {
			return memHashes(logged)
		}
		return tree
	}
	for i, c := range cps {
		where := c.Where()
		if c.Size > rep.Lines {
			add(where, "covers %d lines, but the manifest has %d: lines were removed from the manifest", c.Size, rep.Lines)
			continue
		}
		if th, err := tlog.TreeHash(c.Size, tree); err != nil || th != c.Root {
			add(where, "the manifest's first %d lines do not give its root: a line among them was removed, added, reordered or altered after the checkpoint was written, or the checkpoint was replaced", c.Size)
		}
		if i == 0 {
			continue
		}
		prev := cps[i-1]
		if prev.Size == c.Size {
			if prev.Root != c.Root {
				add(where, "has another root than %s for the same %d lines: the log's history was rewritten", prev.Where(), c.Size)
			} else {
				rep.Consistent++
			}
			continue
		}
		if prev.Size > rep.Lines {
			continue
		}
		proof, err := tlog.ProveTree(c.Size, prev.Size, proofSource(c.Size))
		if err == nil {
			err = tlog.CheckTree(proof, c.Size, c.Root, prev.Size, prev.Root)
		}
		if err != nil {
			add(where, "is not a consistent extension of %s (%d lines): the log's history was rewritten between them", prev.Where(), prev.Size)
			continue
		}
		rep.Consistent++
	}

	if len(cps) == 0 {
		if rep.Lines > 0 && !opts.Running {
			add(Dir, "holds no checkpoint, but the manifest has %d lines: run collect apply, which writes one", rep.Lines)
		}
		return rep, nil
	}
	latest := cps[len(cps)-1]
	rep.Latest = &Head{File: latest.File, Origin: latest.Origin, Size: latest.Size, Root: latestRoot(latest), Signed: latest.Signed()}
	{
		src := proofSource(latest.Size)
		var first, last int64 = -1, -1
		flush := func() {
			if first < 0 {
				return
			}
			add(lineRange(first, last, lineName), "not included in the latest checkpoint %s: not the lines it vouches for", latest.Where())
			first, last = -1, -1
		}
		for i := int64(0); i < min(latest.Size, rep.Lines); i++ {
			proof, err := tlog.ProveRecord(latest.Size, i, src)
			if err == nil {
				err = tlog.CheckRecord(proof, latest.Size, latest.Root, i, leaf(tree, i))
			}
			if err == nil {
				rep.Included++
				flush()
				continue
			}
			if first < 0 {
				first = i
			}
			last = i
		}
		flush()
	}
	if rep.Lines > latest.Size {
		rep.Uncovered = rep.Lines - latest.Size
		if !opts.Running {
			add(lineRange(latest.Size, rep.Lines-1, lineName),
				"not covered by any checkpoint (the latest, %s, covers %d lines): added after the last apply, or collected by an apply that stopped before it wrote its checkpoint (collect apply checkpoints them)",
				latest.Where(), latest.Size)
		}
	}
	return rep, nil
}

// latestRoot is the root hash as the checkpoint writes it (base64).
func latestRoot(c Checkpoint) string {
	return base64.StdEncoding.EncodeToString(c.Root[:])
}

// checkHashFile reads the hash file and compares it with the manifest's
// tree: the lines it logged, in their order. It returns the stored
// hashes, and whether they are whole (the tree they form is their own).
func checkHashFile(dir string, tree memHashes, lines int64, running bool, lineName func(int64) string, add func(string, string, ...any)) ([]tlog.Hash, bool) {
	b, err := os.ReadFile(filepath.Join(dir, HashFile))
	if errors.Is(err, fs.ErrNotExist) {
		if lines > 0 {
			add(HashFile, "is missing: the log's stored tree is gone (proofs are made from the manifest's lines instead)")
		}
		return nil, false
	}
	if err != nil {
		add(HashFile, "cannot be read: %v", err)
		return nil, false
	}
	logged := make([]tlog.Hash, len(b)/tlog.HashSize)
	for i := range logged {
		copy(logged[i][:], b[i*tlog.HashSize:])
	}
	records := recordsIn(int64(len(logged)))
	whole := true
	if extra := int64(len(b)) - tlog.StoredHashCount(records)*tlog.HashSize; extra > 0 && !running {
		add(HashFile, "ends with %d bytes of an interrupted append (the next apply completes it)", extra)
	}
	logged = logged[:tlog.StoredHashCount(records)]
	// The file's own tree: each stored hash is what its leaves give.
	own := memHashes{}
	for i := int64(0); i < records; i++ {
		hs, err := tlog.StoredHashesForRecordHash(i, logged[tlog.StoredHashIndex(0, i)], own)
		if err != nil {
			whole = false
			break
		}
		own = append(own, hs...)
	}
	for i := range own {
		if own[i] != logged[i] {
			level, n := tlog.SplitStoredHashIndex(int64(i))
			add(HashFile, "stored hash %d (level %d, node %d) is not the hash of the nodes below it: the file was changed", i, level, n)
			whole = false
			break
		}
	}

	// Lines against the leaves they were logged as.
	at := map[tlog.Hash]int64{}
	for i := int64(0); i < records; i++ {
		at[logged[tlog.StoredHashIndex(0, i)]] = i
	}
	inManifest := map[tlog.Hash]bool{}
	for i := int64(0); i < lines; i++ {
		inManifest[tree[tlog.StoredHashIndex(0, i)]] = true
	}
	type shift struct{ first, last, by int64 }
	var run *shift
	var gone []int64 // log lines whose line is not in the manifest, found inside a shift
	flush := func() {
		if run == nil {
			return
		}
		logged := fmt.Sprintf("line %d", run.first+run.by+1)
		if run.last > run.first {
			logged = fmt.Sprintf("lines %d-%d", run.first+run.by+1, run.last+run.by+1)
		}
		add(lineRange(run.first, run.last, lineName), "logged as %s: lines before them were removed or added, or they were reordered", logged)
		run = nil
	}
	for i := int64(0); i < max(lines, records); i++ {
		var got, was tlog.Hash
		hasGot, hasWas := i < lines, i < records
		if hasGot {
			got = tree[tlog.StoredHashIndex(0, i)]
		}
		if hasWas {
			was = logged[tlog.StoredHashIndex(0, i)]
		}
		if hasGot && hasWas && got == was {
			flush()
			continue
		}
		if hasGot {
			if j, ok := at[got]; ok {
				if run != nil && run.last == i-1 && run.by == j-i {
					run.last = i
				} else {
					flush()
					run = &shift{first: i, last: i, by: j - i}
				}
				if hasWas && !inManifest[was] {
					gone = append(gone, i)
				}
				continue
			}
		}
		flush()
		switch {
		case hasGot && hasWas && !inManifest[was]:
			add(lineName(i), "altered: its bytes are not the ones logged for this line")
		case hasGot && !hasWas && !running:
			add(lineName(i), "is not in the custody log yet (an apply stopped before logging it; the next apply logs it)")
		case hasGot && hasWas:
			add(lineName(i), "is not in the custody log: it was added, or altered")
		case hasWas && !inManifest[was]:
			add(fmt.Sprintf("log line %d", i+1), "the line logged here is gone from the manifest: it was removed or altered")
		}
	}
	flush()
	for _, i := range gone {
		add(fmt.Sprintf("log line %d", i+1), "the line logged here is gone from the manifest: it was removed or altered")
	}
	return logged, whole
}

// lineRange names manifest lines first to last (0-based), one line by its
// seq as lineName does.
func lineRange(first, last int64, lineName func(int64) string) string {
	if first == last {
		return lineName(first)
	}
	return fmt.Sprintf("%s lines %d-%d", store.ManifestFile, first+1, last+1)
}
