package store_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/internal/record"
	"github.com/collect-ediscovery/collect/store"
)

const testLineage = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"

func TestManifestWritesItsLineageAndTailReadsIt(t *testing.T) {
	dir := t.TempDir()
	if _, ok, err := store.ManifestTail(dir); ok || err != nil {
		t.Fatalf("tail of a folder without a manifest: %v %v", ok, err)
	}
	m := openManifest(t, filepath.Join(dir, store.ManifestFile))
	m.SetLineage(testLineage)
	if err := m.Append([]store.ManifestEntry{entry(1, "a"), entry(2, "b")}); err != nil {
		t.Fatal(err)
	}
	var lines []store.ManifestEntry
	if err := store.ReadManifest(filepath.Join(dir, store.ManifestFile), func(e store.ManifestEntry) error {
		lines = append(lines, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		if l.Lineage != testLineage {
			t.Errorf("line seq %d has lineage %q, want %q", l.Seq, l.Lineage, testLineage)
		}
	}
	before, _ := os.ReadFile(filepath.Join(dir, store.ManifestFile))
	// A torn last line is not the tail, and reading the tail cuts nothing.
	os.WriteFile(filepath.Join(dir, store.ManifestFile), append(slices.Clone(before), `{"seq":3,"ru`...), 0o600)
	tail, ok, err := store.ManifestTail(dir)
	if err != nil || !ok || tail.Seq != 2 || tail.Lineage != testLineage {
		t.Fatalf("tail: %+v %v %v", tail, ok, err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, store.ManifestFile)); len(after) != len(before)+len(`{"seq":3,"ru`) {
		t.Fatal("ManifestTail changed the manifest")
	}
	os.WriteFile(filepath.Join(dir, store.ManifestFile), []byte("not a line\n"), 0o600)
	if _, _, err := store.ManifestTail(dir); err == nil || !strings.Contains(err.Error(), "not a manifest entry") {
		t.Fatalf("tail of a damaged manifest: %v", err)
	}
}

func TestVerifyAcceptsLinesWrittenBeforeLinesNamedTheLineage(t *testing.T) {
	c := newCollection(t, 3)
	// The state now gives lines with the mailbox ID and lineage; the
	// manifest holds them as an older collect wrote them.
	for i := range c.entries {
		c.entries[i].MailboxID, c.entries[i].Lineage = "5b7c7c4e", testLineage
	}
	if rep := c.verify(t); !rep.OK() {
		t.Fatalf("older lines refused: %+v", rep.Manifest)
	}
	// A line that names another lineage than the state's is a difference.
	path := filepath.Join(c.dir, store.ManifestFile)
	os.Remove(path)
	m := openManifest(t, path)
	m.SetLineage(testLineage)
	written := slices.Clone(c.entries)
	written[1].Lineage = "11111111-2222-4333-8444-555555555555"
	if err := m.Append(written); err != nil {
		t.Fatal(err)
	}
	if rep := c.verify(t); len(rep.Manifest) != 1 || rep.Manifest[0].Seq != 2 {
		t.Fatalf("a line of another lineage: %+v", rep.Manifest)
	}
}

func TestReadRuns(t *testing.T) {
	s, dir := openStore(t, store.Options{})
	if runs, err := store.ReadRuns(t.TempDir()); err != nil || runs != nil {
		t.Fatalf("a folder without runs: %v %v", runs, err)
	}
	for _, id := range []string{"20260102T000000Z-b", "20260101T000000Z-a"} {
		if err := s.WriteRun(record.Run{RunID: id, Operation: "apply", Started: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, store.RunsDir, ".partial-x.json-1"), []byte("{"), 0o600)
	runs, err := store.ReadRuns(dir)
	if err != nil || len(runs) != 2 || runs[0].RunID != "20260101T000000Z-a" || runs[1].RunID != "20260102T000000Z-b" {
		t.Fatalf("ReadRuns: %+v %v", runs, err)
	}
	os.WriteFile(filepath.Join(dir, store.RunsDir, "broken.json"), []byte("{"), 0o600)
	if _, err := store.ReadRuns(dir); err == nil || !strings.Contains(err.Error(), "broken.json") {
		t.Fatalf("a damaged run record: %v", err)
	}
}
