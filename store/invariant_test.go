package store_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/internal/record"
	"github.com/collect-ediscovery/collect/store"
)

// evidence is a snapshot of every native and of the manifest.
type evidence struct {
	natives  map[string]os.FileInfo
	content  map[string][]byte
	manifest []byte
}

func snapshot(t *testing.T, dir string) evidence {
	t.Helper()
	ev := evidence{natives: map[string]os.FileInfo{}, content: map[string][]byte{}}
	for _, p := range treeFiles(t, filepath.Join(dir, "natives")) {
		if strings.HasPrefix(p, ".tmp/") {
			continue
		}
		abs := filepath.Join(dir, "natives", p)
		fi, err := os.Stat(abs)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(abs)
		ev.natives[p], ev.content[p] = fi, b
	}
	ev.manifest, _ = os.ReadFile(filepath.Join(dir, "manifest.jsonl"))
	return ev
}

// assertKept fails when a native of before is gone, replaced or changed, or
// when a complete manifest line of before is no longer there.
func assertKept(t *testing.T, step string, before, after evidence) {
	t.Helper()
	for p, fi := range before.natives {
		now, ok := after.natives[p]
		if !ok {
			t.Fatalf("%s: native %s was deleted", step, p)
		}
		if !os.SameFile(fi, now) || !now.ModTime().Equal(fi.ModTime()) || !bytes.Equal(before.content[p], after.content[p]) {
			t.Fatalf("%s: native %s was rewritten", step, p)
		}
	}
	complete := before.manifest[:bytes.LastIndexByte(before.manifest, '\n')+1]
	if !bytes.HasPrefix(after.manifest, complete) {
		t.Fatalf("%s: complete manifest lines changed", step)
	}
}

// TestEvidenceIsAppendOnly runs every operation of the package, the failing
// ones included, over real-world messages and checks after each one that no
// native and no complete manifest line was deleted or rewritten.
func TestEvidenceIsAppendOnly(t *testing.T) {
	msgs := fixtures(t)
	var bodies [][]byte
	for _, b := range msgs {
		bodies = append(bodies, b)
	}
	slices.SortFunc(bodies, bytes.Compare)
	bodies = bodies[:min(len(bodies), 40)]

	q := &quota{left: 1 << 40, errno: syscall.ENOSPC}
	s, dir := openStore(t, store.Options{Hashes: []string{"md5", "sha1"}, CreateFile: q.create})
	ctx := context.Background()
	m, err := s.OpenManifest()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	var entries []store.ManifestEntry
	prev := snapshot(t, dir)
	step := func(name string, op func()) {
		t.Helper()
		op()
		now := snapshot(t, dir)
		assertKept(t, name, prev, now)
		prev = now
	}
	collect := func(body []byte) {
		n, err := writeNative(ctx, s, int64(len(body)), streamOf(body))
		if err != nil {
			t.Fatal(err)
		}
		e := entry(uint64(len(entries)+1), "")
		e.SHA256, e.MD5, e.SHA1, e.Size, e.Path = n.SHA256, n.MD5, n.SHA1, n.Size, n.Path
		if err := m.Append([]store.ManifestEntry{e}); err != nil {
			t.Fatal(err)
		}
		entries = append(entries, e)
	}

	step("first collection", func() {
		for _, b := range bodies[:20] {
			collect(b)
		}
	})
	step("identical bytes again", func() {
		for _, b := range bodies[:20] {
			collect(b)
		}
	})
	step("failed download of stored bytes", func() {
		_, err := writeNative(ctx, s, -1, func(w io.Writer) (int64, error) {
			n, _ := w.Write(bodies[0])
			return int64(n), errors.New("stream reset")
		})
		if err == nil {
			t.Fatal("no error")
		}
	})
	step("truncated download of stored bytes", func() {
		if _, err := writeNative(ctx, s, int64(len(bodies[1])+1), streamOf(bodies[1])); !errors.Is(err, store.ErrSizeMismatch) {
			t.Fatalf("got %v", err)
		}
	})
	step("disk full on stored bytes", func() {
		q.mu.Lock()
		q.left = 3
		q.mu.Unlock()
		if _, err := writeNative(ctx, s, -1, streamOf(bodies[2])); !errors.Is(err, store.ErrDiskFull) {
			t.Fatalf("got %v", err)
		}
		q.mu.Lock()
		q.left = 1 << 40
		q.mu.Unlock()
	})
	step("refused manifest appends", func() {
		if err := m.Append(entries[:1]); err == nil {
			t.Fatal("a seq already in the manifest was appended again")
		}
	})
	step("torn tail cut and caught up", func() {
		f, _ := os.OpenFile(filepath.Join(dir, "manifest.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
		f.WriteString(`{"seq":41,"run_id":"r`)
		f.Close()
		if last, err := m.LastSeq(); err != nil || last != uint64(len(entries)) {
			t.Fatalf("LastSeq %d %v", last, err)
		}
	})
	step("more collection", func() {
		for _, b := range bodies[20:] {
			collect(b)
		}
	})
	step("sweep, run record, verify", func() {
		os.WriteFile(filepath.Join(dir, "natives/.tmp/.partial-crash"), []byte("x"), 0o600)
		if rep, err := s.Clean(); err != nil || len(rep.Removed) != 1 {
			t.Fatalf("Clean %+v %v", rep, err)
		}
		if err := s.WriteRun(record.Run{RunID: "r1", Started: time.Now(), Complete: true}); err != nil {
			t.Fatal(err)
		}
		rep, err := store.Verify(ctx, dir, slices.Values(entries), store.VerifyOptions{Workers: 2})
		if err != nil || !rep.OK() {
			t.Fatalf("verify: %+v %v", rep, err)
		}
	})
	if len(prev.natives) != len(bodies) {
		t.Fatalf("%d natives for %d distinct messages", len(prev.natives), len(bodies))
	}
}
