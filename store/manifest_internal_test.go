package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// fullDisk lets the first `allow` bytes through, then fails like a full disk.
type fullDisk struct {
	journalFile
	allow int
}

func (f *fullDisk) Write(p []byte) (int, error) {
	n := min(len(p), f.allow)
	f.allow -= n
	w, err := f.journalFile.Write(p[:n])
	if err != nil {
		return w, err
	}
	if n < len(p) {
		return w, &os.PathError{Op: "write", Path: "manifest.jsonl", Err: syscall.ENOSPC}
	}
	return w, nil
}

func testEntry(seq uint64) ManifestEntry {
	sum := sha256.Sum256([]byte{byte(seq)})
	h := hex.EncodeToString(sum[:])
	return ManifestEntry{Seq: seq, RunID: "r", SHA256: h, Size: 1, Path: NativePath(h), CollectedAt: time.Unix(0, 0)}
}

func TestManifestAppendDiskFullThenCatchUp(t *testing.T) {
	path := filepath.Join(t.TempDir(), ManifestFile)
	m, err := OpenManifest(path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Append([]ManifestEntry{testEntry(1)}); err != nil {
		t.Fatal(err)
	}
	l2, _ := testEntry(2).MarshalLine()
	real := m.f
	// Seq 2 fits entirely, seq 3 is torn by the full disk.
	m.f = &fullDisk{journalFile: real, allow: len(l2) + 10}
	err = m.Append([]ManifestEntry{testEntry(2), testEntry(3), testEntry(4)})
	if !errors.Is(err, ErrDiskFull) || !bytes.Contains([]byte(err.Error()), []byte("manifest is behind the state")) {
		t.Fatalf("got %v", err)
	}
	m.f = real
	// The next call repairs: the torn seq 3 is cut, seq 2 is a complete line and stays.
	last, err := m.LastSeq()
	if err != nil || last != 2 {
		t.Fatalf("LastSeq %d %v, want 2", last, err)
	}
	if c := m.Cut(); len(c) != 1 || len(c[0].Bytes) != 10 {
		t.Fatalf("Cut %+v", c)
	}
	if err := m.Append([]ManifestEntry{testEntry(3), testEntry(4)}); err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	if err := ReadManifest(path, func(e ManifestEntry) error { seqs = append(seqs, e.Seq); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(seqs) != 4 || seqs[3] != 4 {
		t.Fatalf("seqs %v", seqs)
	}
}

func TestManifestAppendRepairsBeforeNextAppend(t *testing.T) {
	path := filepath.Join(t.TempDir(), ManifestFile)
	m, err := OpenManifest(path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	real := m.f
	m.f = &fullDisk{journalFile: real, allow: 5}
	if err := m.Append([]ManifestEntry{testEntry(1)}); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("got %v", err)
	}
	m.f = real
	// Without calling LastSeq: Append itself cuts the torn bytes first.
	if err := m.Append([]ManifestEntry{testEntry(1)}); err != nil {
		t.Fatal(err)
	}
	want, _ := testEntry(1).MarshalLine()
	if got, _ := os.ReadFile(path); !bytes.Equal(got, want) {
		t.Fatalf("manifest %q", got)
	}
}

func TestDiskFullClassification(t *testing.T) {
	for _, err := range []error{
		&os.LinkError{Op: "rename", Old: "a", New: "b", Err: syscall.ENOSPC},
		&os.PathError{Op: "sync", Path: "a", Err: syscall.EDQUOT},
		syscall.ENOSPC,
	} {
		got := diskFull(err, "/out", "rename", "natives/ab/x.eml", lostMessage)
		if !errors.Is(got, ErrDiskFull) || !errors.Is(got, err) {
			t.Errorf("%v not classified as disk full", err)
		}
		if again := diskFull(got, "/out", "x", "y", "z"); again != got {
			t.Errorf("double wrapping: %v", again)
		}
	}
	other := &os.PathError{Op: "write", Path: "a", Err: syscall.EIO}
	if got := diskFull(other, "/out", "write", "a", lostMessage); got != other || errors.Is(got, ErrDiskFull) {
		t.Errorf("EIO classified as disk full: %v", got)
	}
}
