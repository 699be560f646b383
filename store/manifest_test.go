package store_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/store"
)

// entry builds a valid manifest entry for seq whose native holds body.
func entry(seq uint64, body string) store.ManifestEntry {
	sum := sha256.Sum256([]byte(body))
	h := hex.EncodeToString(sum[:])
	return store.ManifestEntry{
		Seq: seq, RunID: "run-1", Custodians: []string{"jdoe"}, Mailbox: "Jane.Doe@Contoso.com",
		Folder: "Inbox/Projects", GraphID: fmt.Sprintf("AAMkAG-%d", seq), InternetMessageID: fmt.Sprintf("<%d@contoso.com>", seq),
		SHA256: h, Size: int64(len(body)), Path: store.NativePath(h),
		Received:    time.Date(2024, 3, 1, 9, 30, 0, 0, time.FixedZone("EST", -5*3600)),
		Sent:        time.Date(2024, 3, 1, 14, 29, 58, 0, time.UTC),
		From:        "Bob <bob@globex.com>",
		Subject:     "Q1 <pricing> & terms",
		CollectedAt: time.Date(2026, 11, 26, 22, 0, 0, 0, time.UTC),
	}
}

func openManifest(t *testing.T, path string) *store.Manifest {
	t.Helper()
	m, err := store.OpenManifest(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func TestManifestLineIsDeterministic(t *testing.T) {
	e := entry(7, "hello")
	line, err := e.MarshalLine()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"seq":7,"run_id":"run-1","custodians":["jdoe"],"mailbox":"jane.doe@contoso.com","folder":"Inbox/Projects",` +
		`"graph_id":"AAMkAG-7","internet_message_id":"<7@contoso.com>",` +
		`"sha256":"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824","size":5,` +
		`"path":"natives/2c/2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824.eml",` +
		`"received":"2024-03-01T14:30:00Z","sent":"2024-03-01T14:29:58Z","from":"Bob <bob@globex.com>",` +
		`"subject":"Q1 <pricing> & terms","collected_at":"2026-11-26T22:00:00Z"}` + "\n"
	if string(line) != want {
		t.Fatalf("line\n%s\nwant\n%s", line, want)
	}
	// md5/sha1 appear when asked, after sha256; a draft's missing sent time is omitted.
	e.MD5, e.SHA1, e.Sent, e.Custodians = "m", "s", time.Time{}, nil
	line, _ = e.MarshalLine()
	if !bytes.Contains(line, []byte(`"sha256":"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824","md5":"m","sha1":"s","size":5`)) ||
		bytes.Contains(line, []byte(`"sent"`)) || !bytes.Contains(line, []byte(`"custodians":[]`)) {
		t.Fatalf("line %s", line)
	}
}

func TestManifestAppendAndLastSeq(t *testing.T) {
	path := filepath.Join(t.TempDir(), "manifest.jsonl")
	m := openManifest(t, path)
	if last, err := m.LastSeq(); err != nil || last != 0 {
		t.Fatalf("empty manifest: %d %v", last, err)
	}
	if err := m.Append([]store.ManifestEntry{entry(1, "a"), entry(2, "b")}); err != nil {
		t.Fatal(err)
	}
	if err := m.Append([]store.ManifestEntry{entry(5, "c")}); err != nil {
		t.Fatal(err)
	}
	if last, _ := m.LastSeq(); last != 5 {
		t.Fatalf("LastSeq %d, want 5", last)
	}
	m.Close()

	m = openManifest(t, path)
	if last, _ := m.LastSeq(); last != 5 {
		t.Fatalf("after reopen LastSeq %d, want 5", last)
	}
	var seqs []uint64
	if err := store.ReadManifest(path, func(e store.ManifestEntry) error {
		seqs = append(seqs, e.Seq)
		if e.Mailbox != "jane.doe@contoso.com" || e.Received.Location() != time.UTC {
			t.Errorf("entry %+v not normalized", e)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(seqs) != "[1 2 5]" {
		t.Fatalf("seqs %v", seqs)
	}
}

func TestManifestRefusesNonIncreasingSeq(t *testing.T) {
	path := filepath.Join(t.TempDir(), "manifest.jsonl")
	m := openManifest(t, path)
	if err := m.Append([]store.ManifestEntry{entry(3, "a")}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	bad := entry(9, "z")
	bad.Path = "natives/elsewhere.eml"
	for name, batch := range map[string][]store.ManifestEntry{
		"equal to last":         {entry(3, "b")},
		"below last":            {entry(2, "b")},
		"not increasing inside": {entry(4, "b"), entry(6, "c"), entry(6, "d")},
		"zero":                  {entry(0, "b")},
		"bad sha256":            {{Seq: 10, SHA256: "ABC", Path: "x"}},
		"path not the native's": {bad},
	} {
		if err := m.Append(batch); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatal("a refused append changed the manifest")
	}
	if err := m.Append([]store.ManifestEntry{entry(4, "b")}); err != nil {
		t.Fatal(err)
	}
}

func TestManifestTornTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "manifest.jsonl")
	m := openManifest(t, path)
	if err := m.Append([]store.ManifestEntry{entry(1, "a"), entry(2, "b")}); err != nil {
		t.Fatal(err)
	}
	m.Close()
	complete, _ := os.ReadFile(path)
	// A crash in the middle of appending seq 3.
	line3, _ := entry(3, "c").MarshalLine()
	torn := line3[:len(line3)/2]
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.Write(torn)
	f.Close()

	var got []uint64
	err := store.ReadManifest(path, func(e store.ManifestEntry) error { got = append(got, e.Seq); return nil })
	var tte *store.TornTailError
	if !errors.As(err, &tte) || !bytes.Equal(tte.Bytes, torn) || tte.Offset != int64(len(complete)) || fmt.Sprint(got) != "[1 2]" {
		t.Fatalf("ReadManifest: %v %v", got, err)
	}

	m = openManifest(t, path)
	last, err := m.LastSeq()
	if err != nil || last != 2 {
		t.Fatalf("LastSeq %d %v, want 2", last, err)
	}
	cut := m.Cut()
	if len(cut) != 1 || !bytes.Equal(cut[0].Bytes, torn) || cut[0].Offset != int64(len(complete)) {
		t.Fatalf("Cut %+v", cut)
	}
	if now, _ := os.ReadFile(path); !bytes.Equal(now, complete) {
		t.Fatal("the complete lines changed")
	}
	// The catch-up append of seq 3 lands on a clean line boundary.
	if err := m.Append([]store.ManifestEntry{entry(3, "c")}); err != nil {
		t.Fatal(err)
	}
	if now, _ := os.ReadFile(path); !bytes.Equal(now, append(complete, line3...)) {
		t.Fatalf("manifest after catch-up:\n%s", now)
	}
	if err := store.ReadManifest(path, func(store.ManifestEntry) error { return nil }); err != nil {
		t.Fatal(err)
	}
}

func TestManifestTornTailAfterLongLines(t *testing.T) {
	// Lines longer than the backwards read chunk.
	path := filepath.Join(t.TempDir(), "manifest.jsonl")
	m := openManifest(t, path)
	e1, e2 := entry(1, "a"), entry(2, "b")
	e1.Subject = strings.Repeat("s", 150<<10)
	e2.Subject = strings.Repeat("t", 100<<10)
	if err := m.Append([]store.ManifestEntry{e1, e2}); err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte(strings.Repeat("u", 70<<10)))
	f.Close()
	if last, err := m.LastSeq(); err != nil || last != 2 {
		t.Fatalf("LastSeq %d %v", last, err)
	}
	if c := m.Cut(); len(c) != 1 || len(c[0].Bytes) != 70<<10 {
		t.Fatalf("Cut %d", len(c))
	}
	// A manifest of one long line without a torn tail.
	path2 := filepath.Join(t.TempDir(), "manifest.jsonl")
	m2 := openManifest(t, path2)
	if err := m2.Append([]store.ManifestEntry{e1}); err != nil {
		t.Fatal(err)
	}
	m2.Close()
	if last, err := openManifest(t, path2).LastSeq(); err != nil || last != 1 {
		t.Fatalf("LastSeq %d %v", last, err)
	}
}

func TestManifestForeignLastLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "manifest.jsonl")
	os.WriteFile(path, []byte("{\"seq\":1}\nnot json\n"), 0o600)
	if _, err := store.OpenManifest(path); err == nil || !strings.Contains(err.Error(), "changed outside collect") {
		t.Fatalf("got %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "{\"seq\":1}\nnot json\n" {
		t.Fatal("a manifest that could not be read was modified")
	}
}

func TestStoreManifestLocation(t *testing.T) {
	s, dir := openStore(t, store.Options{})
	m, err := s.OpenManifest()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Append([]store.ManifestEntry{entry(1, "a")}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "manifest.jsonl")); err != nil || fi.Size() == 0 {
		t.Fatalf("manifest.jsonl: %v", err)
	}
}
