//go:build linux

package store_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/collect-ediscovery/collect/store"
)

// mountTinyTmpfs mounts a tmpfs of size bytes, or skips when this process
// may not mount (not root, no CAP_SYS_ADMIN, a restricted container).
func mountTinyTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0700"); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v); the injected quota tests cover disk full", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmounting %s: %v", dir, err)
		}
	})
	return dir
}

func TestDiskFullOnRealTmpfs(t *testing.T) {
	mnt := mountTinyTmpfs(t, "256k")
	dir := filepath.Join(mnt, "collection")
	s, err := store.Open(dir, store.Options{Hashes: []string{"md5"}})
	if err != nil {
		t.Fatal(err)
	}
	small := bytes.Repeat([]byte("s"), 64<<10)
	first, err := writeNative(context.Background(), s, int64(len(small)), streamOf(small))
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("b"), 1<<20)
	_, err = writeNative(context.Background(), s, int64(len(big)), streamOf(big))
	if !errors.Is(err, store.ErrDiskFull) {
		t.Fatalf("got %v, want ErrDiskFull", err)
	}
	got := treeFiles(t, filepath.Join(dir, "natives"))
	if len(got) != 1 || "natives/"+got[0] != first.Path {
		t.Fatalf("natives after disk full: %v", got)
	}

	// With the disk filled by something else, a manifest append fails as disk full
	// and the next call after space is freed leaves a manifest of complete lines.
	m, err := s.OpenManifest()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	filler := filepath.Join(mnt, "filler")
	f, _ := os.Create(filler)
	for {
		if _, err := f.Write(make([]byte, 4096)); err != nil {
			break
		}
	}
	f.Close()
	e := entry(1, "x")
	e.Subject = string(bytes.Repeat([]byte("y"), 64<<10))
	if err := m.Append([]store.ManifestEntry{e}); !errors.Is(err, store.ErrDiskFull) {
		t.Fatalf("manifest append on a full disk: %v", err)
	}
	os.Remove(filler)
	if last, err := m.LastSeq(); err != nil || last != 0 {
		t.Fatalf("LastSeq %d %v", last, err)
	}
	if err := m.Append([]store.ManifestEntry{e}); err != nil {
		t.Fatal(err)
	}
	if err := store.ReadManifest(filepath.Join(dir, "manifest.jsonl"), func(store.ManifestEntry) error { return nil }); err != nil {
		t.Fatal(err)
	}
}
