package store_test

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/collect-ediscovery/collect/store"
)

// fixtureDir is the shared corpus of real-world messages, relative to this
// package (the repo root's ../shared).
const fixtureDir = "../../shared/corpus/mail-fixtures"

// fixtures returns the real-world .eml messages, or skips when the corpus is absent.
func fixtures(t testing.TB) map[string][]byte {
	t.Helper()
	if _, err := os.Stat(fixtureDir); err != nil {
		t.Skipf("mail fixtures not available at %s (%v); they live next to the repo in ../shared", fixtureDir, err)
	}
	out := map[string][]byte{}
	err := filepath.WalkDir(fixtureDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && strings.HasSuffix(p, ".eml") {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[p] = b
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Skipf("no .eml files under %s", fixtureDir)
	}
	return out
}

// streamOf returns a Produce that writes b in small chunks, like an HTTP body.
func streamOf(b []byte) store.Produce {
	return func(w io.Writer) (int64, error) {
		return io.CopyBuffer(w, struct{ io.Reader }{bytes.NewReader(b)}, make([]byte, 1000))
	}
}

// writeNative stores one message the way the store writes every native:
// staged, then sealed as a batch of one.
func writeNative(ctx context.Context, s *store.Store, expectedSize int64, produce store.Produce) (store.Native, error) {
	st, err := s.Stage(ctx, expectedSize, produce)
	if err != nil {
		return store.Native{}, err
	}
	natives, errs := s.Seal([]*store.Staged{st})
	return natives[0], errs[0]
}

// treeFiles lists every file (not folder) under dir, slash-separated and relative.
func treeFiles(t testing.TB, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

// quota hands out files that fail with errno once the shared byte budget is spent.
type quota struct {
	mu      sync.Mutex
	left    int64
	errno   syscall.Errno
	syncErr error // returned by Sync when set
}

func (q *quota) create(name string, perm fs.FileMode) (store.File, error) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return nil, err
	}
	return &quotaFile{f: f, q: q}, nil
}

type quotaFile struct {
	f *os.File
	q *quota
}

func (f *quotaFile) Write(p []byte) (int, error) {
	f.q.mu.Lock()
	allowed := min(int64(len(p)), f.q.left)
	f.q.left -= allowed
	f.q.mu.Unlock()
	n, err := f.f.Write(p[:allowed])
	if err != nil {
		return n, err
	}
	if n < len(p) {
		return n, &os.PathError{Op: "write", Path: f.f.Name(), Err: f.q.errno}
	}
	return n, nil
}

func (f *quotaFile) Sync() error {
	if f.q.syncErr != nil {
		return f.q.syncErr
	}
	return f.f.Sync()
}

// syncData fails Seal's flush with syncErr when it is set.
func (q *quota) syncData(string, []string) error { return q.syncErr }

func (f *quotaFile) Close() error { return f.f.Close() }
