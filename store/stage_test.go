package store_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"

	"github.com/collect-ediscovery/collect/store"
)

func TestStageAndSeal(t *testing.T) {
	s, dir := openStore(t, store.Options{Hashes: []string{"md5"}})
	ctx := context.Background()
	bodies := [][]byte{[]byte("first message\r\n"), []byte("second message\r\n"), []byte("first message\r\n")}
	var staged []*store.Staged
	for _, b := range bodies {
		st, err := s.Stage(ctx, int64(len(b)), streamOf(b))
		if err != nil {
			t.Fatal(err)
		}
		staged = append(staged, st)
	}
	// Before Seal nothing is in place: only temp files exist.
	for _, f := range treeFiles(t, dir) {
		if filepath.Ext(f) == ".eml" {
			t.Fatalf("%s is in place before Seal", f)
		}
	}
	natives, errs := s.Seal(staged)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("seal %d: %v", i, err)
		}
	}
	for i, b := range bodies {
		sum := sha256.Sum256(b)
		if natives[i].SHA256 != hex.EncodeToString(sum[:]) || natives[i].Size != int64(len(b)) || natives[i].MD5 == "" {
			t.Errorf("native %d = %+v", i, natives[i])
		}
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(natives[i].Path)))
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("native %d on disk: %q, %v", i, got, err)
		}
	}
	if natives[0].Deduplicated || !natives[2].Deduplicated {
		t.Errorf("the third message repeats the first's bytes: dedup flags %v %v", natives[0].Deduplicated, natives[2].Deduplicated)
	}
	var emls, temps int
	for _, f := range treeFiles(t, dir) {
		switch {
		case filepath.Ext(f) == ".eml":
			emls++
		case filepath.Base(filepath.Dir(f)) == ".tmp":
			temps++
		}
	}
	if emls != 2 || temps != 0 {
		t.Errorf("%d natives and %d temp files after Seal, want 2 and 0", emls, temps)
	}
}

func TestStageFailureAndDiscardLeaveNothing(t *testing.T) {
	s, dir := openStore(t, store.Options{})
	ctx := context.Background()
	boom := errors.New("connection reset")
	_, err := s.Stage(ctx, -1, func(w io.Writer) (int64, error) {
		w.Write([]byte("partial"))
		return 7, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Stage error = %v, want the producer's", err)
	}
	st, err := s.Stage(ctx, 5, streamOf([]byte("hello")))
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := s.Clean(); err != nil || len(rep.Removed) != 0 {
		t.Fatalf("Clean removed a staged file still owned by the store: %v %v", rep.Removed, err)
	}
	s.Discard(st)
	if files := treeFiles(t, dir); slices.ContainsFunc(files, func(f string) bool { return filepath.Base(filepath.Dir(f)) == ".tmp" }) {
		t.Errorf("files left: %v", files)
	}
}

func TestSealDiskFullRecordsNothing(t *testing.T) {
	q := &quota{left: 1 << 20, errno: syscall.ENOSPC}
	s, _ := openStore(t, store.Options{CreateFile: q.create})
	st, err := s.Stage(context.Background(), 3, streamOf([]byte("abc")))
	if err != nil {
		t.Fatal(err)
	}
	q.mu.Lock()
	q.left = 0
	q.mu.Unlock()
	if _, err := s.Stage(context.Background(), 3, streamOf([]byte("xyz"))); !errors.Is(err, store.ErrDiskFull) {
		t.Fatalf("Stage on a full disk = %v, want ErrDiskFull", err)
	}
	natives, errs := s.Seal([]*store.Staged{st})
	if errs[0] != nil || natives[0].Size != 3 {
		t.Fatalf("sealing what was staged before the disk filled: %+v %v", natives[0], errs[0])
	}
}

func TestSealPublishesEachNativeAndAFailedPublishIsThatNativesError(t *testing.T) {
	refused := errors.New("the backend refused it")
	var published []string
	var mu sync.Mutex
	s, dir := openStore(t, store.Options{Publish: func(n store.Native, file string) (bool, error) {
		b, err := os.ReadFile(file)
		if err != nil {
			return false, err
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != n.SHA256 {
			t.Errorf("published %s with bytes of another hash", file)
		}
		mu.Lock()
		defer mu.Unlock()
		published = append(published, string(b))
		if string(b) == "refused\r\n" {
			return false, refused
		}
		return string(b) == "also kept\r\n", nil
	}})
	ctx := context.Background()
	var staged []*store.Staged
	for _, b := range []string{"kept\r\n", "refused\r\n", "also kept\r\n", "kept\r\n"} {
		st, err := s.Stage(ctx, int64(len(b)), streamOf([]byte(b)))
		if err != nil {
			t.Fatal(err)
		}
		staged = append(staged, st)
	}
	natives, errs := s.Seal(staged)
	if errs[0] != nil || errs[2] != nil || errs[3] != nil || !errors.Is(errs[1], refused) {
		t.Fatalf("seal errors: %v", errs)
	}
	if natives[1] != (store.Native{}) || natives[0].Path == "" || natives[2].Path == "" || natives[3].Path != natives[0].Path {
		t.Fatalf("natives: %+v", natives)
	}
	// Bytes the backend held before are deduplicated; so is the second
	// copy of bytes in one batch, published once with the first.
	if natives[0].Deduplicated || !natives[2].Deduplicated || !natives[3].Deduplicated {
		t.Fatalf("deduplicated: %v %v %v", natives[0].Deduplicated, natives[2].Deduplicated, natives[3].Deduplicated)
	}
	slices.Sort(published)
	if want := []string{"also kept\r\n", "kept\r\n", "refused\r\n"}; !slices.Equal(published, want) {
		t.Fatalf("published %q, want %q", published, want)
	}
	// The refused native stays on disk, as evidence does; a later run finds it.
	if n := len(treeFiles(t, dir)); n < 3 {
		t.Fatalf("%d files in the output folder", n)
	}
}
