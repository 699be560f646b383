package store_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/collect-ediscovery/collect/internal/record"
	"github.com/collect-ediscovery/collect/store"
)

func openStore(t testing.TB, opts store.Options) (*store.Store, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "collection")
	s, err := store.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

func TestSealRealMessages(t *testing.T) {
	msgs := fixtures(t)
	s, dir := openStore(t, store.Options{Hashes: []string{"SHA256", "md5", "sha1"}})
	ctx := context.Background()
	paths := map[string]string{}
	for name, b := range msgs {
		n, err := writeNative(ctx, s, int64(len(b)), streamOf(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		s256, m5, s1 := sha256.Sum256(b), md5.Sum(b), sha1.Sum(b)
		want := store.Native{
			SHA256: hex.EncodeToString(s256[:]), MD5: hex.EncodeToString(m5[:]), SHA1: hex.EncodeToString(s1[:]),
			Size: int64(len(b)), Path: "natives/" + hex.EncodeToString(s256[:1]) + "/" + hex.EncodeToString(s256[:]) + ".eml",
		}
		if n != want {
			t.Fatalf("%s: got %+v, want %+v", name, n, want)
		}
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(n.Path)))
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("%s: stored bytes differ from the message (err %v)", name, err)
		}
		fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(n.Path)))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o400 {
			t.Fatalf("%s: native mode %v, want 0400", name, fi.Mode().Perm())
		}
		paths[name] = n.Path
	}
	// Everything in the folder is a native we wrote; no temp file is left.
	var want []string
	for _, p := range paths {
		want = append(want, p)
	}
	slices.Sort(want)
	want = slices.Compact(want)
	if got := treeFiles(t, filepath.Join(dir, "natives")); len(got) != len(want) {
		t.Fatalf("natives folder holds %d files, want %d", len(got), len(want))
	}
	for _, p := range want {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Fatal(err)
		}
	}
	// An accidental edit fails (unless running as root, which ignores modes).
	if os.Geteuid() != 0 {
		if _, err := os.OpenFile(filepath.Join(dir, want[0]), os.O_WRONLY, 0); err == nil {
			t.Fatal("a native could be opened for writing")
		}
	}
}

func TestOpenRejectsUnknownHash(t *testing.T) {
	_, err := store.Open(t.TempDir(), store.Options{Hashes: []string{"crc32"}})
	if err == nil || !strings.Contains(err.Error(), "crc32") {
		t.Fatalf("got %v, want an error naming crc32", err)
	}
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o600)
	if _, err := store.Open(f, store.Options{}); err == nil {
		t.Fatal("Open accepted a file as the output folder")
	}
}

func TestSHA256OnlyOmitsOtherHashes(t *testing.T) {
	s, _ := openStore(t, store.Options{})
	n, err := writeNative(context.Background(), s, -1, streamOf([]byte("hello")))
	if err != nil {
		t.Fatal(err)
	}
	if n.MD5 != "" || n.SHA1 != "" || n.SHA256 == "" {
		t.Fatalf("got %+v, want only sha256", n)
	}
}

func TestDeduplicateIdenticalBytes(t *testing.T) {
	s, dir := openStore(t, store.Options{})
	body := []byte("From: a@example.com\r\nSubject: same\r\n\r\nsame bytes\r\n")
	first, err := writeNative(context.Background(), s, int64(len(body)), streamOf(body))
	if err != nil || first.Deduplicated {
		t.Fatalf("first write: %+v %v", first, err)
	}
	abs := filepath.Join(dir, first.Path)
	before, _ := os.Stat(abs)

	// Many writers of the same bytes at once: one file, kept as it was.
	var wg sync.WaitGroup
	results := make([]store.Native, 8)
	errs := make([]error, 8)
	for i := range results {
		wg.Go(func() { results[i], errs[i] = writeNative(context.Background(), s, -1, streamOf(body)) })
	}
	wg.Wait()
	for i := range results {
		if errs[i] != nil || !results[i].Deduplicated || results[i].Path != first.Path {
			t.Fatalf("writer %d: %+v %v", i, results[i], errs[i])
		}
	}
	after, _ := os.Stat(abs)
	if !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
		t.Fatal("the existing native was replaced")
	}
	if got := treeFiles(t, filepath.Join(dir, "natives")); len(got) != 1 {
		t.Fatalf("natives: %v", got)
	}
}

func TestConcurrentFirstWritersStoreOnce(t *testing.T) {
	s, dir := openStore(t, store.Options{})
	body := bytes.Repeat([]byte("x"), 300<<10)
	var wg sync.WaitGroup
	var mu sync.Mutex
	fresh := 0
	for range 6 {
		wg.Go(func() {
			n, err := writeNative(context.Background(), s, -1, streamOf(body))
			if err != nil {
				t.Error(err)
				return
			}
			if !n.Deduplicated {
				mu.Lock()
				fresh++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if fresh != 1 {
		t.Fatalf("%d writers stored the bytes, want exactly 1", fresh)
	}
	if got := treeFiles(t, filepath.Join(dir, "natives")); len(got) != 1 {
		t.Fatalf("natives: %v", got)
	}
}

// assertNothingLeft checks that the natives folder holds no file at all.
func assertNothingLeft(t *testing.T, dir string) {
	t.Helper()
	if got := treeFiles(t, filepath.Join(dir, "natives")); len(got) != 0 {
		t.Fatalf("files left behind: %v", got)
	}
}

func TestFailedProduceLeavesNothing(t *testing.T) {
	s, dir := openStore(t, store.Options{Hashes: []string{"md5"}})
	boom := errors.New("connection reset by peer")
	_, err := writeNative(context.Background(), s, 10000, func(w io.Writer) (int64, error) {
		n, _ := w.Write(bytes.Repeat([]byte("a"), 5000))
		return int64(n), boom
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "nothing was recorded") {
		t.Fatalf("got %v", err)
	}
	assertNothingLeft(t, dir)
}

func TestSizeMismatch(t *testing.T) {
	body := bytes.Repeat([]byte("b"), 4096)
	for name, tc := range map[string]struct {
		expected int64
		produce  store.Produce
	}{
		"truncated body": {int64(len(body)) + 100, streamOf(body)},
		"longer body":    {int64(len(body)) - 1, streamOf(body)},
		"count disagrees": {-1, func(w io.Writer) (int64, error) {
			n, err := w.Write(body)
			return int64(n) + 7, err
		}},
	} {
		t.Run(name, func(t *testing.T) {
			s, dir := openStore(t, store.Options{})
			_, err := writeNative(context.Background(), s, tc.expected, tc.produce)
			if !errors.Is(err, store.ErrSizeMismatch) {
				t.Fatalf("got %v, want ErrSizeMismatch", err)
			}
			assertNothingLeft(t, dir)
		})
	}
}

func TestCanceledMidStream(t *testing.T) {
	s, dir := openStore(t, store.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	_, err := writeNative(ctx, s, -1, func(w io.Writer) (int64, error) {
		var total int64
		for i := 0; ; i++ {
			if i == 3 {
				cancel()
			}
			n, err := w.Write(make([]byte, 1024))
			total += int64(n)
			if err != nil {
				return total, err
			}
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	assertNothingLeft(t, dir)
}

func TestDiskFull(t *testing.T) {
	body := bytes.Repeat([]byte("m"), 200<<10)
	for name, q := range map[string]*quota{
		"ENOSPC at write":  {left: 50 << 10, errno: syscall.ENOSPC},
		"EDQUOT at write":  {left: 150 << 10, errno: syscall.EDQUOT},
		"nothing fits":     {left: 0, errno: syscall.ENOSPC},
		"ENOSPC at fsync":  {left: 1 << 30, syncErr: &os.PathError{Op: "sync", Path: "x", Err: syscall.ENOSPC}},
		"EDQUOT at fsync ": {left: 1 << 30, syncErr: &os.PathError{Op: "sync", Path: "x", Err: syscall.EDQUOT}},
	} {
		t.Run(name, func(t *testing.T) {
			s, dir := openStore(t, store.Options{Hashes: []string{"sha1"}, CreateFile: q.create})
			if q.syncErr != nil {
				s.SetSyncData(q.syncData)
			}
			// A producer that wraps the write error in its own words, as an HTTP copy might.
			_, err := writeNative(context.Background(), s, int64(len(body)), func(w io.Writer) (int64, error) {
				n, err := io.Copy(w, bytes.NewReader(body))
				if err != nil {
					return n, fmt.Errorf("copying the response body: %v", err)
				}
				return n, nil
			})
			if !errors.Is(err, store.ErrDiskFull) {
				t.Fatalf("got %v, want ErrDiskFull", err)
			}
			var dfe *store.DiskFullError
			if !errors.As(err, &dfe) || dfe.Dir != s.Dir() {
				t.Fatalf("got %#v", err)
			}
			for _, want := range []string{"is full", "nothing was recorded for this message", "free space", "re-run apply"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("message %q lacks %q", err, want)
				}
			}
			assertNothingLeft(t, dir)
		})
	}
}

func TestDiskFullRunRecordKeepsPrevious(t *testing.T) {
	q := &quota{left: 1 << 30, errno: syscall.ENOSPC}
	s, dir := openStore(t, store.Options{CreateFile: q.create})
	if err := s.WriteRun(record.Run{RunID: "r1", Operation: "apply"}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "runs/r1.json"))
	q.mu.Lock()
	q.left = 10
	q.mu.Unlock()
	err := s.WriteRun(record.Run{RunID: "r1", Operation: "apply", Complete: true})
	if !errors.Is(err, store.ErrDiskFull) {
		t.Fatalf("got %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "runs/r1.json"))
	if !bytes.Equal(before, after) {
		t.Fatal("a failed run record write changed the previous record")
	}
	if got := treeFiles(t, filepath.Join(dir, "runs")); !slices.Equal(got, []string{"r1.json"}) {
		t.Fatalf("runs: %v", got)
	}
}

func TestExistingNativeWithWrongSizeIsKept(t *testing.T) {
	s, dir := openStore(t, store.Options{})
	body := []byte("Subject: evidence\r\n\r\noriginal\r\n")
	sum := sha256.Sum256(body)
	path := store.NativePath(hex.EncodeToString(sum[:]))
	abs := filepath.Join(dir, path)
	os.MkdirAll(filepath.Dir(abs), 0o700)
	if err := os.WriteFile(abs, []byte("damaged"), 0o400); err != nil {
		t.Fatal(err)
	}
	_, err := writeNative(context.Background(), s, -1, streamOf(body))
	if !errors.Is(err, store.ErrNativeConflict) {
		t.Fatalf("got %v, want ErrNativeConflict", err)
	}
	if got, _ := os.ReadFile(abs); string(got) != "damaged" {
		t.Fatal("the existing file was rewritten")
	}
	if got := treeFiles(t, filepath.Join(dir, "natives")); !slices.Equal(got, []string{strings.TrimPrefix(path, "natives/")}) {
		t.Fatalf("natives: %v", got)
	}
}

func TestClean(t *testing.T) {
	s, dir := openStore(t, store.Options{})
	n, err := writeNative(context.Background(), s, -1, streamOf([]byte("kept")))
	if err != nil {
		t.Fatal(err)
	}
	leftovers := map[string]string{
		"natives/.tmp/.partial-AAAA":      "half a message",
		"runs/.partial-r9.json-BBBB":      "{",
		"natives/.tmp/not-ours":           "x", // not a temp name: left for verify to report
		"runs/r0.json":                    "{}",
		"natives/.tmp/.partial-CCCC.more": "",
	}
	for p, c := range leftovers {
		if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Clean while a native is being written: the in-flight temp file survives.
	var during store.CleanReport
	n2, err := writeNative(context.Background(), s, -1, func(w io.Writer) (int64, error) {
		a, _ := w.Write(bytes.Repeat([]byte("z"), 200<<10)) // more than the write buffer: on disk now
		var cerr error
		during, cerr = s.Clean()
		if cerr != nil {
			return int64(a), cerr
		}
		b, err := w.Write([]byte("tail"))
		return int64(a + b), err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"natives/.tmp/.partial-AAAA", "natives/.tmp/.partial-CCCC.more", "runs/.partial-r9.json-BBBB"}
	if !slices.Equal(during.Removed, want) || during.Bytes != int64(len("half a message")+1) {
		t.Fatalf("Clean removed %v (%d bytes), want %v", during.Removed, during.Bytes, want)
	}
	got := treeFiles(t, dir)
	wantTree := []string{"natives/.tmp/not-ours", n.Path, n2.Path, "runs/r0.json"}
	slices.Sort(wantTree)
	if !slices.Equal(got, wantTree) {
		t.Fatalf("after Clean: %v, want %v", got, wantTree)
	}
	again, err := s.Clean()
	if err != nil || len(again.Removed) != 0 {
		t.Fatalf("second Clean: %+v %v", again, err)
	}
}

func TestOverlongBodyStopsEarly(t *testing.T) {
	s, dir := openStore(t, store.Options{})
	var written int64
	_, err := writeNative(context.Background(), s, 4096, func(w io.Writer) (int64, error) {
		for written < 64<<20 {
			n, err := w.Write(make([]byte, 1024))
			written += int64(n)
			if err != nil {
				return written, fmt.Errorf("copy: %v", err) // the cause is not wrapped
			}
		}
		return written, nil
	})
	if !errors.Is(err, store.ErrSizeMismatch) {
		t.Fatalf("got %v, want ErrSizeMismatch", err)
	}
	if written > 4096 {
		t.Fatalf("the store accepted %d bytes of a 4096-byte message", written)
	}
	assertNothingLeft(t, dir)
}
