package durable

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
)

// names lists the entries of dir.
func names(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n []string
	for _, e := range es {
		n = append(n, e.Name())
	}
	return n
}

// recordSyncs replaces the folder flush for one test and returns the folders
// it was asked to flush.
func recordSyncs(t *testing.T, fail error) *[]string {
	var synced []string
	old := syncFolder
	syncFolder = func(dir string) error {
		synced = append(synced, dir)
		if fail != nil {
			return fail
		}
		return old(dir)
	}
	t.Cleanup(func() { syncFolder = old })
	return &synced
}

func TestWriteFileLeavesOnlyTheFinalFileAndSyncsTheFolder(t *testing.T) {
	synced := recordSyncs(t, nil)
	dir := t.TempDir()
	path := filepath.Join(dir, "plan.json")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new" {
		t.Errorf("content %q, want new", b)
	}
	if got := names(t, dir); !slices.Equal(got, []string{"plan.json"}) {
		t.Errorf("folder holds %q, want only plan.json", got)
	}
	if !slices.Equal(*synced, []string{dir}) {
		t.Errorf("folders flushed %q, want %q after the rename", *synced, dir)
	}
}

func TestWriteFailuresLeaveTheOldFileAndNoTemporary(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name   string
		opts   Options
		fill   func(io.Writer) error
		target func(dir string) string // the path written
		op     string
		is     error
	}{
		{
			name: "fill fails after writing part",
			fill: func(w io.Writer) error { w.Write([]byte("half")); return boom },
			op:   "write", is: boom,
		},
		{
			name: "sync fails",
			opts: Options{Create: func(name string, perm fs.FileMode) (File, error) {
				f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
				return failingSync{f}, err
			}},
			op: "sync", is: syscall.EIO,
		},
		{
			name: "create fails",
			opts: Options{Create: func(string, fs.FileMode) (File, error) { return nil, syscall.ENOSPC }},
			op:   "create", is: syscall.ENOSPC,
		},
		{
			name: "no replace keeps the existing file",
			opts: Options{NoReplace: true},
			op:   "link", is: fs.ErrExist,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synced := recordSyncs(t, nil)
			dir := t.TempDir()
			path := filepath.Join(dir, "f")
			if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
				t.Fatal(err)
			}
			fill := tc.fill
			if fill == nil {
				fill = func(w io.Writer) error { _, err := w.Write([]byte("new")); return err }
			}
			err := tc.opts.Write(path, 0o600, fill)
			var de *Error
			if !errors.As(err, &de) || de.Op != tc.op || !errors.Is(err, tc.is) {
				t.Fatalf("error %v, want a %s step failing with %v", err, tc.op, tc.is)
			}
			if b, _ := os.ReadFile(path); string(b) != "old" {
				t.Errorf("content %q, want the old file kept", b)
			}
			if got := names(t, dir); !slices.Equal(got, []string{"f"}) {
				t.Errorf("folder holds %q, want only f", got)
			}
			if len(*synced) != 0 {
				t.Errorf("folder flushed after a failed write: %q", *synced)
			}
		})
	}
}

type failingSync struct{ *os.File }

func (failingSync) Sync() error { return syscall.EIO }

func TestRenameFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "taken")
	// A non-empty folder cannot be renamed over.
	if err := os.MkdirAll(filepath.Join(path, "inside"), 0o700); err != nil {
		t.Fatal(err)
	}
	err := WriteFile(path, []byte("x"), 0o600)
	var de *Error
	if !errors.As(err, &de) || de.Op != "rename" {
		t.Fatalf("error %v, want the rename step", err)
	}
	if got := names(t, dir); !slices.Equal(got, []string{"taken"}) {
		t.Errorf("folder holds %q, want only the folder that was in the way", got)
	}
}

func TestFolderSyncFailureIsReportedWithTheFileInPlace(t *testing.T) {
	synced := recordSyncs(t, syscall.EIO)
	dir := t.TempDir()
	path := filepath.Join(dir, "lock.json")
	err := WriteFile(path, []byte("{}"), 0o600)
	var de *Error
	if !errors.As(err, &de) || de.Op != "sync folder" || de.Path != dir || !errors.Is(err, syscall.EIO) {
		t.Fatalf("error %v, want the folder flush of %s failing with EIO", err, dir)
	}
	if len(*synced) != 1 {
		t.Errorf("folder flushed %d times, want 1", len(*synced))
	}
	if got := names(t, dir); !slices.Equal(got, []string{"lock.json"}) {
		t.Errorf("folder holds %q, want only lock.json", got)
	}
}

func TestNoReplaceWritesANewFile(t *testing.T) {
	synced := recordSyncs(t, nil)
	dir := t.TempDir()
	path := filepath.Join(dir, "state.db.backup")
	if err := (Options{NoReplace: true}).WriteFile(path, []byte("copy"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "copy" {
		t.Errorf("content %q, want copy", b)
	}
	if got := names(t, dir); !slices.Equal(got, []string{"state.db.backup"}) {
		t.Errorf("folder holds %q, want only the backup", got)
	}
	if !slices.Equal(*synced, []string{dir}) {
		t.Errorf("folders flushed %q, want %q", *synced, dir)
	}
}

func TestTempNameIsTheCallers(t *testing.T) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, ".partial-r1")
	var created string
	opts := Options{Temp: tmp, Create: func(name string, perm fs.FileMode) (File, error) {
		created = name
		return createFile(name, perm)
	}}
	if err := opts.WriteFile(filepath.Join(dir, "r1.json"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if created != tmp {
		t.Errorf("temporary file %q, want %q", created, tmp)
	}
}
