package custody_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/custody"
	"github.com/collect-ediscovery/collect/store"
)

// entry is a manifest entry of the i-th collected message.
func entry(i int) store.ManifestEntry {
	sum := fmt.Sprintf("%064x", i+1)
	return store.ManifestEntry{
		Seq: uint64(i + 1), RunID: "run", Custodians: []string{"ann"}, Mailbox: "ann@example.com",
		Folder: "Inbox", GraphID: fmt.Sprintf("id-%d", i), SHA256: sum, Size: int64(100 + i),
		Path: store.NativePath(sum), Subject: fmt.Sprintf("Message %d", i),
		CollectedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
}

// collection is an output folder whose manifest the custody log follows.
type collection struct {
	t   testing.TB
	dir string
	st  *store.Store
	man *store.Manifest
	log *custody.Log
}

func newCollection(t testing.TB) *collection {
	t.Helper()
	c := &collection{t: t, dir: t.TempDir()}
	c.open()
	return c
}

// open opens the manifest and the custody log, as apply does.
func (c *collection) open() error {
	c.t.Helper()
	var err error
	if c.st, err = store.Open(c.dir, store.Options{}); err != nil {
		c.t.Fatal(err)
	}
	if c.man, err = c.st.OpenManifest(); err != nil {
		c.t.Fatal(err)
	}
	c.log, err = custody.Open(c.st, c.man)
	if err != nil {
		c.man.Close()
		c.man, c.log = nil, nil
	}
	return err
}

func (c *collection) close() {
	if c.log != nil {
		c.log.Close()
	}
	if c.man != nil {
		c.man.Close()
	}
}

// add appends entries from..to-1 to the manifest in one append.
func (c *collection) add(from, to int) {
	c.t.Helper()
	var es []store.ManifestEntry
	for i := from; i < to; i++ {
		es = append(es, entry(i))
	}
	if err := c.man.Append(es); err != nil {
		c.t.Fatal(err)
	}
}

func (c *collection) checkpoint(run string) *custody.Checkpoint {
	c.t.Helper()
	cp, err := c.log.Checkpoint("collect/test", nil, run)
	if err != nil {
		c.t.Fatal(err)
	}
	return cp
}

func (c *collection) hashFile() []byte {
	c.t.Helper()
	b, err := os.ReadFile(filepath.Join(c.dir, custody.HashFile))
	if err != nil {
		c.t.Fatal(err)
	}
	return b
}

func (c *collection) writeHashFile(b []byte) {
	c.t.Helper()
	if err := os.WriteFile(filepath.Join(c.dir, custody.HashFile), b, 0o600); err != nil {
		c.t.Fatal(err)
	}
}

func (c *collection) verify() custody.Report {
	c.t.Helper()
	rep, err := custody.Verify(c.dir, custody.VerifyOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	return rep
}

// TestOpenRepairsWhatACrashLeaves puts the hash file in each state a
// crash can leave it in (behind the manifest, its last append cut short
// or zero-filled past the latest checkpoint, lost) and checks that Open
// brings it back to the bytes an uninterrupted run writes, and that the
// collection then verifies.
func TestOpenRepairsWhatACrashLeaves(t *testing.T) {
	ref := newCollection(t)
	ref.add(0, 5)
	ref.checkpoint("run1")
	ref.add(5, 13)
	ref.close()
	want := ref.hashFile()
	const checkpointed = 8 * 32 // StoredHashCount(5) hashes: the tree of the first 5 lines

	for _, tc := range []struct {
		name   string
		damage func(b []byte) []byte
	}{
		{"intact", func(b []byte) []byte { return b }},
		{"behind by the last append", func(b []byte) []byte { return b[:checkpointed] }},
		{"cut inside a hash", func(b []byte) []byte { return b[:len(b)-45] }},
		{"cut to nothing", func(b []byte) []byte { return nil }},
		{"zeros where the last append did not reach the disk", func(b []byte) []byte {
			b = bytes.Clone(b)
			clear(b[checkpointed+64 : checkpointed+160])
			return b
		}},
		{"zero tail", func(b []byte) []byte {
			b = bytes.Clone(b)
			clear(b[len(b)-64:])
			return b
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &collection{t: t, dir: t.TempDir()}
			copyDir(t, ref.dir, c.dir)
			c.writeHashFile(tc.damage(want))
			if err := c.open(); err != nil {
				t.Fatalf("open: %v", err)
			}
			if got := c.hashFile(); !bytes.Equal(got, want) {
				t.Errorf("the repaired hash file (%d bytes) is not the one an uninterrupted run writes (%d bytes)", len(got), len(want))
			}
			if c.log.Size() != 13 {
				t.Errorf("the log holds %d lines, want 13", c.log.Size())
			}
			c.add(13, 20)
			c.checkpoint("run2")
			c.close()
			if rep := c.verify(); !rep.OK() || rep.Included != 20 || rep.Consistent != 1 {
				t.Errorf("verify after the repair: %d included, %d consistent, problems %v", rep.Included, rep.Consistent, rep.Problems)
			}
		})
	}
}

// TestOpenRefusesWhatNoCrashLeaves: every other disagreement between the
// hash file, the checkpoints and the manifest is tamper evidence, and
// Open refuses it without changing the hash file.
func TestOpenRefusesWhatNoCrashLeaves(t *testing.T) {
	ref := newCollection(t)
	ref.add(0, 5)
	ref.checkpoint("run1")
	ref.add(5, 9)
	ref.close()
	want := ref.hashFile()
	manifest, err := os.ReadFile(filepath.Join(ref.dir, store.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name     string
		hashes   func(b []byte) []byte
		manifest func(b []byte) []byte
		wantErr  string
	}{
		{"a hash after the checkpoint neither right nor zero", func(b []byte) []byte {
			b = bytes.Clone(b)
			b[len(b)-40] ^= 1
			return b
		}, nil, "is not the one manifest line"},
		{"a hash of the checkpoint's frontier changed", func(b []byte) []byte {
			b = bytes.Clone(b)
			b[7*32] ^= 1 // the leaf of line 5
			return b
		}, nil, "does not have the root of the latest checkpoint"},
		{"zeros in the checkpoint's frontier", func(b []byte) []byte {
			b = bytes.Clone(b)
			clear(b[6*32 : 7*32]) // the node over lines 1-4
			return b
		}, nil, "does not have the root of the latest checkpoint"},
		{"bytes beyond the manifest", func(b []byte) []byte { return append(bytes.Clone(b), 1, 2, 3) }, nil, "more hashes than"},
		{"a line altered before the checkpoint, hash file lost", func([]byte) []byte { return nil }, func(b []byte) []byte {
			return bytes.Replace(b, []byte("Message 2"), []byte("Message X"), 1)
		}, "do not give the root of the latest checkpoint"},
		{"lines cut below the checkpoint, hash file lost", func([]byte) []byte { return nil }, func(b []byte) []byte {
			lines := bytes.SplitAfter(b, []byte("\n"))
			return bytes.Join(lines[:3], nil)
		}, "covers 5 lines, but the manifest has 3"},
		{"a line removed from the middle", nil, func(b []byte) []byte {
			lines := bytes.SplitAfter(b, []byte("\n"))
			return bytes.Join(append(lines[:2:2], lines[3:]...), nil)
		}, "manifest line 3 is not the line the custody log holds there"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &collection{t: t, dir: t.TempDir()}
			copyDir(t, ref.dir, c.dir)
			hashes := want
			if tc.hashes != nil {
				hashes = tc.hashes(want)
			}
			c.writeHashFile(hashes)
			if tc.manifest != nil {
				if err := os.WriteFile(filepath.Join(c.dir, store.ManifestFile), tc.manifest(manifest), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			err := c.open()
			var te *custody.TamperError
			if !errors.As(err, &te) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("open: %v, want a tamper error saying %q", err, tc.wantErr)
			}
			if got := c.hashFile(); !bytes.Equal(got, hashes) {
				t.Error("Open changed the hash file it refused")
			}
			if rep := c.verify(); rep.OK() {
				t.Error("verify accepts what Open refused")
			}
		})
	}
}

// TestDamageInsideTheCheckpointedTree: a stored hash below the latest
// checkpoint's frontier does not stop apply (the frontier it extends the
// tree from still gives the signed root), and verify names it.
func TestDamageInsideTheCheckpointedTree(t *testing.T) {
	c := newCollection(t)
	c.add(0, 5)
	c.checkpoint("run1")
	c.close()
	b := c.hashFile()
	b[3] ^= 1 // the leaf of line 1
	c.writeHashFile(b)
	if err := c.open(); err != nil {
		t.Fatalf("open: %v", err)
	}
	c.add(5, 7)
	c.checkpoint("run2")
	c.close()
	rep := c.verify()
	found := false
	for _, p := range rep.Problems {
		found = found || (p.Where == custody.HashFile && strings.Contains(p.What, "stored hash 2 (level 1, node 0) is not the hash of the nodes below it"))
	}
	if !found {
		t.Errorf("verify does not name the damaged hash: %v", rep.Problems)
	}
}

// TestLinesRestoredFromTheStateMustBeTheLoggedBytes: a manifest cut at
// its end is completed by apply from the state; the custody log takes
// back only the bytes it logged, and no checkpoint is written before.
func TestLinesRestoredFromTheStateMustBeTheLoggedBytes(t *testing.T) {
	ref := newCollection(t)
	ref.add(0, 6)
	ref.checkpoint("run1")
	ref.close()
	path := filepath.Join(ref.dir, store.ManifestFile)
	full, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cut := func(c *collection) {
		lines := bytes.SplitAfter(full, []byte("\n"))
		if err := os.WriteFile(filepath.Join(c.dir, store.ManifestFile), bytes.Join(lines[:4], nil), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	c := &collection{t: t, dir: t.TempDir()}
	copyDir(t, ref.dir, c.dir)
	cut(c)
	if err := c.open(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.log.Checkpoint("collect/test", nil, "early"); err == nil {
		t.Error("a checkpoint was written while lines the log holds are missing from the manifest")
	}
	c.add(4, 6)
	c.checkpoint("run2")
	c.close()
	if rep := c.verify(); !rep.OK() || rep.Included != 6 {
		t.Errorf("verify: %+v", rep.Problems)
	}

	other := &collection{t: t, dir: t.TempDir()}
	copyDir(t, ref.dir, other.dir)
	cut(other)
	if err := other.open(); err != nil {
		t.Fatal(err)
	}
	defer other.close()
	altered := entry(4)
	altered.Subject = "Not what was collected"
	var te *custody.TamperError
	if err := other.man.Append([]store.ManifestEntry{altered}); !errors.As(err, &te) {
		t.Errorf("appending another line where the log holds one: %v, want a tamper error", err)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		target := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestAKeyAdoptedLater: checkpoints written before the matter had a key
// are accepted, unsigned, when signed ones extend them; an unsigned
// checkpoint after a signed one is not.
func TestAKeyAdoptedLater(t *testing.T) {
	signer, verifier := testKey(t)
	c := newCollection(t)
	c.add(0, 3)
	c.checkpoint("run1")
	c.add(3, 5)
	if _, err := (custody.Signing{Origin: "collect/test", Signer: signer}).Checkpoint(c.log, "run2"); err != nil {
		t.Fatal(err)
	}
	rep, err := custody.Verify(c.dir, custody.VerifyOptions{Verifier: verifier, Origin: "collect/test"})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Signed != 1 || len(rep.NotChecked) != 1 || !strings.Contains(rep.NotChecked[0], "first checkpoint: it is unsigned") {
		t.Errorf("a key adopted later: ok %v, %d signed, not checked %q, problems %v", rep.OK(), rep.Signed, rep.NotChecked, rep.Problems)
	}
	c.add(5, 6)
	c.checkpoint("run3")
	c.close()
	rep, err = custody.Verify(c.dir, custody.VerifyOptions{Verifier: verifier, Origin: "collect/test"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || len(rep.Problems) != 1 || rep.Problems[0].Where != "custody/run3.checkpoint" || !strings.Contains(rep.Problems[0].What, "it is not signed") {
		t.Errorf("an unsigned checkpoint after a signed one: %v", rep.Problems)
	}
}
