package custody

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/collect-ediscovery/collect/internal/durable"
	"github.com/collect-ediscovery/collect/store"
)

// Names inside the output folder.
const (
	// Dir holds the checkpoints, one <run-id>.checkpoint per apply.
	Dir = "custody"
	// HashFile holds the tree's stored hashes, beside the manifest.
	HashFile      = "manifest.hashes"
	checkpointExt = ".checkpoint"
)

// TamperError says that the custody log and the manifest disagree in a
// way no crash can leave them: something changed them since they were
// written. Apply stops rather than sign a tree it cannot vouch for.
type TamperError struct{ What string }

func (e *TamperError) Error() string {
	return "the custody log does not agree with the manifest: " + e.What +
		". Nothing was collected. Run collect verify -custody to see what changed, and restore the output folder from a copy"
}

func tamperf(format string, args ...any) error {
	return &TamperError{What: fmt.Sprintf(format, args...)}
}

// Log is the matter's Merkle tree over the manifest's lines, kept in the
// hash file as tlog's stored hashes (32 bytes each, in storage order).
// Once opened it follows the manifest: every append to it is hashed into
// the tree and made durable before the next.
type Log struct {
	dir string // output folder
	f   *os.File
	n   int64 // records (manifest lines) the hash file holds
	// logged is how many lines the hash file held when it was opened, when
	// more than the manifest: lines appended up to it must be those bytes.
	logged int64
	broken error // an append failed: the file must be repaired by the next Open
	perm   os.FileMode
}

// Open opens the custody log of the output folder of st and brings it up
// to the manifest man, which must be open and must not be appended to
// before Open returns. Afterwards every append to man is added to the tree.
//
// The manifest is fsynced before the hash file is appended to, and an
// apply writes its checkpoint only once both are durable. So a crash can
// leave the hash file behind the manifest, with at most its last append
// torn (cut short, or with zeros where the bytes did not reach the disk),
// and only after the latest checkpoint. Open recomputes that part from the
// manifest. Anything else (a hash file ahead of the manifest, a hash that
// is neither right nor zero, a tree that does not give the latest
// checkpoint's root, a checkpoint larger than the manifest) cannot come
// from a crash and is a *TamperError.
func Open(st *store.Store, man *store.Manifest) (*Log, error) {
	dir := st.Dir()
	dperm, fperm := st.Perms()
	cdir := filepath.Join(dir, Dir)
	if err := os.Mkdir(cdir, dperm); err == nil {
		if err := durable.SyncDir(dir); err != nil {
			return nil, fmt.Errorf("custody: syncing %s: %w", dir, err)
		}
	} else if !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("custody: creating %s: %w", cdir, err)
	}
	cps, _, err := ReadCheckpoints(dir)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, HashFile)
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, fperm)
	if err != nil {
		return nil, fmt.Errorf("custody: opening %s: %w", HashFile, err)
	}
	if errors.Is(statErr, os.ErrNotExist) {
		if err := durable.SyncDir(dir); err != nil {
			f.Close()
			return nil, fmt.Errorf("custody: syncing %s: %w", dir, err)
		}
	}
	l := &Log{dir: dir, f: f, perm: fperm}
	var latest *Checkpoint
	if len(cps) > 0 {
		latest = &cps[len(cps)-1]
	}
	if err := l.repair(man.Path(), latest); err != nil {
		f.Close()
		return nil, err
	}
	man.SetFollower(l.appendLines)
	return l, nil
}

// Close closes the hash file.
func (l *Log) Close() error { return l.f.Close() }

// Size is the number of manifest lines in the tree.
func (l *Log) Size() int64 { return l.n }

// recordsIn is how many records n stored hashes hold completely.
func recordsIn(slots int64) int64 {
	// StoredHashCount(n) is below 2n, so n is at least slots/2.
	n := slots / 2
	for tlog.StoredHashCount(n+1) <= slots {
		n++
	}
	return n
}

// hashes reads stored hashes from the file below base and from pending
// (hashes not written yet) from base on.
type hashes struct {
	r       io.ReaderAt
	base    int64
	pending []tlog.Hash
}

func (h *hashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x >= h.base {
			if x-h.base >= int64(len(h.pending)) {
				return nil, fmt.Errorf("stored hash %d is not in the tree", x)
			}
			out[i] = h.pending[x-h.base]
			continue
		}
		if _, err := h.r.ReadAt(out[i][:], x*tlog.HashSize); err != nil {
			return nil, fmt.Errorf("reading stored hash %d of %s: %w", x, HashFile, err)
		}
	}
	return out, nil
}

// repair brings the hash file up to the manifest at manifestPath, given
// the latest checkpoint (nil when there is none).
func (l *Log) repair(manifestPath string, latest *Checkpoint) error {
	fi, err := l.f.Stat()
	if err != nil {
		return fmt.Errorf("custody: reading %s: %w", HashFile, err)
	}
	size := fi.Size()
	slots := size / tlog.HashSize
	held := recordsIn(slots)
	var cpSize int64
	var cpRoot tlog.Hash
	cpName := ""
	if latest != nil {
		cpSize, cpRoot, cpName = latest.Size, latest.Root, Dir+"/"+latest.File
	}
	// The records before the latest checkpoint were durable before it was
	// written: they are checked against its root, not recomputed.
	trusted := min(held, cpSize)
	if cpSize > 0 && held >= cpSize {
		th, err := tlog.TreeHash(cpSize, &hashes{r: l.f, base: slots})
		if err != nil {
			return fmt.Errorf("custody: %w", err)
		}
		if th != cpRoot {
			return tamperf("the tree of the first %d lines in %s does not have the root of the latest checkpoint %s", cpSize, HashFile, cpName)
		}
	}
	src := &hashes{r: l.f, base: tlog.StoredHashCount(trusted)}
	var lines int64
	err = store.ScanManifest(manifestPath, func(_ int, line []byte) error {
		if lines >= trusted {
			hs, err := tlog.StoredHashes(lines, line, src)
			if err != nil {
				return err
			}
			src.pending = append(src.pending, hs...)
		}
		lines++
		return nil
	})
	var torn *store.TornTailError
	if err != nil && !errors.As(err, &torn) {
		return fmt.Errorf("custody: reading the manifest: %w", err)
	}
	want := tlog.StoredHashCount(lines)
	switch {
	case size > want*tlog.HashSize:
		return l.manifestBehind(manifestPath, lines, held, size)
	case cpSize > lines:
		return tamperf("the latest checkpoint %s covers %d lines, but the manifest has %d: lines were removed from the manifest", cpName, cpSize, lines)
	}
	// What the file holds past the trusted records must be what the
	// manifest gives, or zeros a crash left: nothing else.
	old := make([]byte, size-src.base*tlog.HashSize)
	if _, err := l.f.ReadAt(old, src.base*tlog.HashSize); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("custody: reading %s: %w", HashFile, err)
	}
	var fresh bytes.Buffer
	for _, h := range src.pending {
		fresh.Write(h[:])
	}
	same := bytes.Equal(old, fresh.Bytes())
	for i := 0; i < len(old); i += tlog.HashSize {
		got, wantH := old[i:min(i+tlog.HashSize, len(old))], fresh.Bytes()[i:min(i+tlog.HashSize, len(old))]
		if !bytes.Equal(got, wantH) && !allZero(got) {
			index := src.base + int64(i/tlog.HashSize)
			return tamperf("stored hash %d of %s is not the one manifest line %d gives", index, HashFile, recordsIn(index)+1)
		}
	}
	if trusted < cpSize {
		// The hash file was cut before the checkpoint: the manifest must
		// give back the checkpoint's root.
		th, err := tlog.TreeHash(cpSize, src)
		if err != nil {
			return fmt.Errorf("custody: %w", err)
		}
		if th != cpRoot {
			return tamperf("the first %d lines of the manifest do not give the root of the latest checkpoint %s", cpSize, cpName)
		}
	}
	if !same {
		if err := l.f.Truncate(src.base * tlog.HashSize); err != nil {
			return fmt.Errorf("custody: cutting %s: %w", HashFile, err)
		}
		if _, err := l.f.WriteAt(fresh.Bytes(), src.base*tlog.HashSize); err != nil {
			return fmt.Errorf("custody: writing %s: %w", HashFile, err)
		}
		if err := l.f.Sync(); err != nil {
			return fmt.Errorf("custody: syncing %s: %w", HashFile, err)
		}
	}
	l.n = lines
	return nil
}

// manifestBehind opens a log that holds more lines than the manifest:
// lines lost from the manifest's end (cut, or restored from an older
// copy). No crash leaves this, as the manifest is written first. The
// manifest must be the log's first lines exactly; the lines after them
// may only come back as the bytes that were logged (apply appends them
// again from the state), and no checkpoint is written until they have.
func (l *Log) manifestBehind(manifestPath string, lines, held, size int64) error {
	if size != tlog.StoredHashCount(held)*tlog.HashSize {
		return tamperf("%s holds more hashes than the manifest's %d lines give, and ends in part of one", HashFile, lines)
	}
	var i int64
	err := store.ScanManifest(manifestPath, func(_ int, line []byte) error {
		var logged tlog.Hash
		if _, err := l.f.ReadAt(logged[:], tlog.StoredHashIndex(0, i)*tlog.HashSize); err != nil {
			return err
		}
		if tlog.RecordHash(line) != logged {
			return tamperf("manifest line %d is not the line the custody log holds there: it was altered, or a line before it was removed", i+1)
		}
		i++
		return nil
	})
	var torn *store.TornTailError
	if err != nil && !errors.As(err, &torn) {
		return err
	}
	l.n, l.logged = lines, held
	return nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// appendLines adds manifest lines, just made durable, to the tree.
func (l *Log) appendLines(b []byte) error {
	if l.broken != nil {
		return l.broken
	}
	n := l.n
	for ; n < l.logged && len(b) > 0; n++ {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return errors.New("custody: a manifest append does not end with a newline")
		}
		var logged tlog.Hash
		if _, err := l.f.ReadAt(logged[:], tlog.StoredHashIndex(0, n)*tlog.HashSize); err != nil {
			return fmt.Errorf("custody: reading %s: %w", HashFile, err)
		}
		if tlog.RecordHash(b[:i+1]) != logged {
			l.broken = tamperf("manifest line %d, appended again from the state, is not the line the custody log holds there", n+1)
			return l.broken
		}
		b = b[i+1:]
		l.n = n + 1
	}
	src := &hashes{r: l.f, base: tlog.StoredHashCount(n)}
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return errors.New("custody: a manifest append does not end with a newline")
		}
		hs, err := tlog.StoredHashes(n, b[:i+1], src)
		if err != nil {
			return fmt.Errorf("custody: %w", err)
		}
		src.pending = append(src.pending, hs...)
		n++
		b = b[i+1:]
	}
	buf := make([]byte, 0, len(src.pending)*tlog.HashSize)
	for _, h := range src.pending {
		buf = append(buf, h[:]...)
	}
	if _, err := l.f.WriteAt(buf, src.base*tlog.HashSize); err != nil {
		l.broken = fmt.Errorf("custody: appending to %s: %w (the manifest holds the lines; the next apply brings %s up to date)", HashFile, err, HashFile)
		return l.broken
	}
	if err := l.f.Sync(); err != nil {
		l.broken = fmt.Errorf("custody: syncing %s: %w (the manifest holds the lines; the next apply brings %s up to date)", HashFile, err, HashFile)
		return l.broken
	}
	l.n = n
	return nil
}

// Root is the root hash of the tree as it is now.
func (l *Log) Root() (tlog.Hash, error) {
	return tlog.TreeHash(l.n, &hashes{r: l.f, base: tlog.StoredHashCount(l.n)})
}

// Checkpoint writes custody/<runID>.checkpoint: the tree as it is now,
// under origin, signed by signer (unsigned when signer is nil). An empty
// tree has no checkpoint: there is nothing to vouch for.
func (l *Log) Checkpoint(origin string, signer note.Signer, runID string) (*Checkpoint, error) {
	if l.broken != nil {
		return nil, l.broken
	}
	if l.n < l.logged {
		return nil, tamperf("the manifest has %d lines, but the custody log holds %d: lines were removed from the manifest, and the state does not give them back", l.n, l.logged)
	}
	if l.n == 0 {
		return nil, nil
	}
	root, err := l.Root()
	if err != nil {
		return nil, fmt.Errorf("custody: %w", err)
	}
	c := Checkpoint{Origin: origin, Size: l.n, Root: root, File: runID + checkpointExt}
	c.Text = []byte(c.Body())
	if signer != nil {
		if c.Text, err = note.Sign(&note.Note{Text: c.Body()}, signer); err != nil {
			return nil, fmt.Errorf("custody: signing the checkpoint: %w", err)
		}
	}
	path := filepath.Join(l.dir, Dir, c.File)
	if err := (durable.Options{NoReplace: true}).WriteFile(path, c.Text, l.perm); err != nil {
		return nil, fmt.Errorf("custody: writing %s/%s: %w", Dir, c.File, err)
	}
	return &c, nil
}
