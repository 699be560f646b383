package store

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/collect-ediscovery/collect/internal/durable"
)

// Names inside the output folder.
const (
	NativesDir    = "natives"
	TempDir       = "natives/.tmp" // slash-separated, relative to the output folder
	RunsDir       = "runs"
	ManifestFile  = "manifest.jsonl"
	TempPrefix    = ".partial-"
	nativeExt     = ".eml"
	hashSHA256    = "sha256"
	hashMD5       = "md5"
	hashSHA1      = "sha1"
	shardLen      = 2
	sha256HexSize = 64
)

// File is what the store needs from a file it writes.
type File interface {
	io.Writer
	Sync() error
	Close() error
}

// Options configure a Store.
type Options struct {
	// Hashes lists the digests to compute besides SHA-256, which is always
	// computed: "md5", "sha1" (case-insensitive; "sha256" is accepted and implied).
	Hashes []string

	// GroupRead widens permissions to 0750 folders, 0640 files, 0440 natives
	// (default 0700, 0600, 0400).
	GroupRead bool

	// CreateFile creates a new file exclusively for writing. Nil means the
	// operating system. Tests inject it to simulate a full disk.
	CreateFile func(name string, perm fs.FileMode) (File, error)

	// Publish, if set, is called by Seal for every native it made durable,
	// once for each file, with the native and the absolute path of its
	// file, before Seal returns it: a remote backend uploads it there, so
	// that nothing is recorded that is not in the backend. An error from it
	// is that native's error. already says the backend held those bytes
	// before (the native is then Deduplicated). The hook may remove the
	// file once the backend holds it: the local folder is then only where
	// natives pass through.
	Publish func(n Native, file string) (already bool, err error)
}

// Store is an open output folder. Its methods are safe for concurrent use.
type Store struct {
	dir       string
	md5, sha1 bool
	dirPerm   fs.FileMode
	filePerm  fs.FileMode
	nativePrm fs.FileMode
	create    func(name string, perm fs.FileMode) (File, error)
	syncData  func(dir string, files []string) error // Seal's flush of staged bytes
	publish   func(n Native, file string) (bool, error)

	// shards serialise the exists-check and rename of natives that share the
	// first byte of their hash, so that two writers of identical bytes never
	// both rename onto the same name.
	shards [256]sync.Mutex

	mu       sync.Mutex
	inFlight map[string]struct{} // absolute temp paths being written; Clean skips them
}

// Open opens the output folder dir, creating it and its sub-folders when
// needed. It never modifies existing content.
func Open(dir string, opts Options) (*Store, error) {
	if dir == "" {
		return nil, errors.New("store: the output folder path is empty; set output.path in the matter")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("store: resolving output folder %q: %w", dir, err)
	}
	s := &Store{
		dir:       abs,
		dirPerm:   0o700,
		filePerm:  0o600,
		nativePrm: 0o400,
		create:    opts.CreateFile,
		syncData:  syncData,
		publish:   opts.Publish,
		inFlight:  map[string]struct{}{},
	}
	if opts.GroupRead {
		s.dirPerm, s.filePerm, s.nativePrm = 0o750, 0o640, 0o440
	}
	if s.create == nil {
		s.create = createOSFile
	}
	for _, h := range opts.Hashes {
		switch strings.ToLower(strings.TrimSpace(h)) {
		case hashSHA256:
		case hashMD5:
			s.md5 = true
		case hashSHA1:
			s.sha1 = true
		default:
			return nil, fmt.Errorf("store: unsupported hash %q in output.hashes; use sha256, md5 or sha1", h)
		}
	}
	if fi, err := os.Stat(abs); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("store: output folder %s exists and is not a folder; choose another output.path", abs)
	}
	for _, sub := range []string{"", NativesDir, TempDir, RunsDir} {
		p := filepath.Join(abs, filepath.FromSlash(sub))
		created, err := mkdir(p, s.dirPerm)
		if err != nil {
			return nil, diskFull(fmt.Errorf("store: creating %s: %w", p, err), abs, "mkdir", sub, "the output folder was not created")
		}
		if created {
			if err := durable.SyncDir(filepath.Dir(p)); err != nil {
				return nil, fmt.Errorf("store: syncing %s: %w", filepath.Dir(p), err)
			}
		}
	}
	return s, nil
}

// Dir returns the absolute path of the output folder.
func (s *Store) Dir() string { return s.dir }

// Hashes returns the digests this store computes, sha256 first.
func (s *Store) Hashes() []string {
	h := []string{hashSHA256}
	if s.md5 {
		h = append(h, hashMD5)
	}
	if s.sha1 {
		h = append(h, hashSHA1)
	}
	return h
}

// NativePath returns the slash-separated path, relative to the output
// folder, of the native whose SHA-256 is sha256Hex (lower-case hex).
func NativePath(sha256Hex string) string {
	return NativesDir + "/" + sha256Hex[:shardLen] + "/" + sha256Hex + nativeExt
}

func (s *Store) abs(rel string) string { return filepath.Join(s.dir, filepath.FromSlash(rel)) }

func (s *Store) rel(abs string) string {
	r, err := filepath.Rel(s.dir, abs)
	if err != nil {
		return abs
	}
	return filepath.ToSlash(r)
}

// mkdir creates one folder and reports whether it was created.
func mkdir(p string, perm fs.FileMode) (bool, error) {
	err := os.Mkdir(p, perm)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, fs.ErrExist) {
		fi, serr := os.Stat(p)
		if serr != nil {
			return false, serr
		}
		if !fi.IsDir() {
			return false, fmt.Errorf("%s exists and is not a folder", p)
		}
		return false, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		if _, perr := mkdir(filepath.Dir(p), perm); perr != nil {
			return false, perr
		}
		return mkdir(p, perm)
	}
	return false, err
}

func createOSFile(name string, perm fs.FileMode) (File, error) {
	return os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
}

// Perms returns the permissions the store gives the folders and the files
// it writes (natives aside), for records kept beside its own.
func (s *Store) Perms() (dir, file fs.FileMode) { return s.dirPerm, s.filePerm }
