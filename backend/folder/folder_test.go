package folder

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/backend"
	"github.com/collect-ediscovery/collect/backend/backendtest"
)

// breakable is a folder store whose leases the suite can break from
// outside, as an operator removing a stuck lock file does.
type breakable struct{ *Store }

func (b breakable) Break(ctx context.Context, name string) error {
	return os.Remove(b.lockPath(name))
}

func openTemp(t *testing.T) backend.Store {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return breakable{s}
}

func TestConformance(t *testing.T) {
	backendtest.Run(t, openTemp)
}

// TestConformanceTwoHandles holds a second Store on the same folder, as a
// second process on the machine or on another one sharing it would.
func TestConformanceTwoHandles(t *testing.T) {
	backendtest.RunShared(t, openTemp, func(t *testing.T, s backend.Store) backend.Store {
		again, err := Open(s.(breakable).dir)
		if err != nil {
			t.Fatal(err)
		}
		return again
	})
}

func TestString(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	s, err := Open("backend")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.String(), "folder: "+filepath.Join(dir, "backend"); got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}

func TestNamesOutsideTheFolderAreRefused(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("x")
	sum := md5.Sum(data)
	for _, name := range []string{"", "../escape", "/abs", "a//b", "a/", "natives/.partial-x", ".hidden", `a\b`, "a/./b"} {
		if err := s.PutOnce(t.Context(), name, bytes.NewReader(data), 1, sum[:], nil); err == nil || errors.Is(err, backend.ErrExists) {
			t.Errorf("PutOnce(%q) = %v, want a refusal", name, err)
		}
		if _, err := s.Stat(t.Context(), name); err == nil || errors.Is(err, backend.ErrNotFound) {
			t.Errorf("Stat(%q) = %v, want a refusal", name, err)
		}
		if _, err := s.Lock(t.Context(), name, backend.LockInfo{}); err == nil {
			t.Errorf("Lock(%q) succeeded", name)
		}
	}
	if err := s.List(t.Context(), "../", func(backend.Info) error { return nil }); err == nil {
		t.Error("List(../) succeeded")
	}
	err = s.PutOnce(t.Context(), "a", bytes.NewReader(data), 1, sum[:], map[string]string{"Bad-Name": "v"})
	if err == nil || !strings.Contains(err.Error(), "lower-case") {
		t.Errorf("PutOnce with metadata name Bad-Name: %v", err)
	}
}

// TestRefusedWritesLeaveNothing looks at the folder itself: a write that
// fails (wrong MD5, short reader, taken name) leaves no hidden file behind.
func TestRefusedWritesLeaveNothing(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("message bytes")
	sum := md5.Sum(data)
	name := "natives/ab/x.eml"
	if err := s.PutOnce(t.Context(), name, bytes.NewReader(data), int64(len(data)), sum[:], nil); err != nil {
		t.Fatal(err)
	}
	before := files(t, dir)
	wrong := md5.Sum([]byte("other"))
	for _, tc := range []struct {
		what string
		name string
		size int64
		sum  []byte
	}{
		{"wrong MD5", "natives/ab/y.eml", int64(len(data)), wrong[:]},
		{"short reader", "natives/ab/z.eml", int64(len(data)) + 5, sum[:]},
		{"taken name", name, int64(len(data)), sum[:]},
	} {
		if err := s.PutOnce(t.Context(), tc.name, bytes.NewReader(data), tc.size, tc.sum, nil); err == nil {
			t.Errorf("%s: PutOnce succeeded", tc.what)
		}
	}
	if after := files(t, dir); !equal(before, after) {
		t.Fatalf("refused writes changed the folder:\nbefore %q\nafter  %q", before, after)
	}
}

func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func equal(a, b []string) bool { return strings.Join(a, "\n") == strings.Join(b, "\n") }

// TestReplaceKeepsMetadata: the state's metadata written by PutOnce stays
// through a Replace, and the MD5 follows the new bytes.
func TestReplaceKeepsMetadata(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	name := "shards/1-of-1/state.db"
	first := []byte("first")
	sum := md5.Sum(first)
	if err := s.PutOnce(t.Context(), name, bytes.NewReader(first), int64(len(first)), sum[:], map[string]string{"shard": "1"}); err != nil {
		t.Fatal(err)
	}
	l, err := s.Lock(t.Context(), name, backend.LockInfo{Operation: "apply"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(t.Context())
	second := []byte("the second state")
	sum = md5.Sum(second)
	if err := l.Replace(t.Context(), bytes.NewReader(second), int64(len(second)), sum[:]); err != nil {
		t.Fatal(err)
	}
	info, err := s.Stat(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	if info.Metadata["shard"] != "1" || !bytes.Equal(info.MD5, sum[:]) || info.Size != int64(len(second)) {
		t.Fatalf("after Replace: %+v", info)
	}
	// Only the current version's record is left.
	side, _ := filepath.Glob(filepath.Join(s.dir, "meta", "shards", "1-of-1", "state.db.*.json"))
	if len(side) != 1 {
		t.Fatalf("metadata records after Replace: %q, want one", side)
	}
}

const helperEnv = "COLLECT_FOLDER_LOCK_HELPER"

// TestHelperProcess is the child of TestLockEndsWithItsProcess: it takes
// the lock, says so, and waits to be killed.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(helperEnv)
	if dir == "" {
		t.Skip("run as a child by TestLockEndsWithItsProcess")
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Lock(context.Background(), "shards/1-of-2/state.db", backend.LockInfo{
		Operation: "apply", Who: "child@host", Version: "9.9.9",
		Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("locked\n")
	// Held until killed; a parent that dies first closes stdin, and the
	// child goes too.
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

// TestLockEndsWithItsProcess: a process killed while it holds the lease
// loses it at once, as an expired lease in an object store.
func TestLockEndsWithItsProcess(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("the child said %q (%v), not that it holds the lock", line, err)
	}

	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	name := "shards/1-of-2/state.db"
	_, err = s.Lock(t.Context(), name, backend.LockInfo{Operation: "plan", Who: "parent@host"})
	var held *backend.HeldError
	if !errors.As(err, &held) {
		t.Fatalf("Lock while the child holds it: %v, want a *backend.HeldError", err)
	}
	if held.Holder.Who != "child@host" || held.Holder.Operation != "apply" || held.Holder.Version != "9.9.9" || held.Holder.Path != name {
		t.Fatalf("HeldError names %+v, not the child", held.Holder)
	}
	if info, ok, err := s.Holder(t.Context(), name); err != nil || !ok || info.Who != "child@host" {
		t.Fatalf("Holder = %+v, %v, %v; want the child", info, ok, err)
	}

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait() // exits by the signal; its files are closed by then

	if _, ok, err := s.Holder(t.Context(), name); err != nil || ok {
		t.Fatalf("Holder after the child died = %v, %v; want none", ok, err)
	}
	l, err := s.Lock(t.Context(), name, backend.LockInfo{Operation: "plan", Who: "parent@host"})
	if err != nil {
		t.Fatalf("Lock after the child died: %v", err)
	}
	defer l.Release(t.Context())
	info, ok, err := s.Holder(t.Context(), name)
	if err != nil || !ok || info.Who != "parent@host" {
		t.Fatalf("Holder after taking it = %+v, %v, %v; want this process", info, ok, err)
	}
}
