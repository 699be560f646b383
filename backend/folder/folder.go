// Package folder keeps a collection's backend in a local or shared folder,
// standing in for an object store with the same guarantees: an object is
// published whole by one exclusive link, so of two writers of one name only
// one succeeds and no reader sees a part; a lease is an operating-system
// lock on an open file, so a process that dies loses it at once.
//
// The folder holds three trees:
//
//	objects/<name>            the object's bytes, as a plain file
//	meta/<name>.<inode>.json  its MD5 and metadata, written before it is published
//	locks/<name>              the lock file of a leased object, holding its LockInfo
//
// The sidecar is named after the inode of the object file it describes, so
// that concurrent writers of one name never overwrite each other's and a
// reader never pairs an object with another version's MD5. Files whose name
// begins with a dot are writes in progress and are never listed.
package folder

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/collect-ediscovery/collect/backend"
	"github.com/collect-ediscovery/collect/internal/durable"
)

const (
	dirPerm  fs.FileMode = 0o700
	filePerm fs.FileMode = 0o600
)

// Store is a folder holding a collection's objects.
type Store struct {
	dir string // absolute
}

var _ backend.Store = (*Store)(nil)

// Open opens the backend folder dir, creating it when it does not exist.
func Open(dir string) (*Store, error) {
	if err := supported(); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("folder backend %s: %w", dir, err)
	}
	s := &Store{dir: abs}
	for _, root := range []string{"objects", "meta", "locks"} {
		if err := mkdirAll(filepath.Join(abs, root)); err != nil {
			return nil, fmt.Errorf("folder backend %s: %w; check that the folder can be written", abs, err)
		}
	}
	return s, nil
}

// String names the store for messages.
func (s *Store) String() string { return "folder: " + s.dir }

func (s *Store) objectPath(name string) string {
	return filepath.Join(s.dir, "objects", filepath.FromSlash(name))
}

func (s *Store) metaPath(name string, ino uint64) string {
	return filepath.Join(s.dir, "meta", filepath.FromSlash(name)) + fmt.Sprintf(".%d.json", ino)
}

func (s *Store) lockPath(name string) string {
	return filepath.Join(s.dir, "locks", filepath.FromSlash(name))
}

// checkName refuses a name that is not a plain slash-separated path inside
// the folder; names beginning with a dot are kept for writes in progress.
func checkName(name string) error {
	if name == "" {
		return errors.New("folder backend: an object name cannot be empty")
	}
	for _, el := range strings.Split(name, "/") {
		if el == "" || strings.HasPrefix(el, ".") || strings.ContainsAny(el, "\\\x00") {
			return fmt.Errorf("folder backend: %q is not an object name: its parts must be non-empty, must not begin with a dot and must not hold a backslash", name)
		}
	}
	return nil
}

func checkMeta(meta map[string]string) error {
	for k := range meta {
		if k == "" || strings.IndexFunc(k, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') }) >= 0 {
			return fmt.Errorf("folder backend: metadata name %q must be lower-case letters and digits", k)
		}
	}
	return nil
}

// sidecar is what meta/ keeps of one version of an object.
type sidecar struct {
	MD5      []byte            `json:"md5"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

// PutOnce writes name only if it does not exist.
func (s *Store) PutOnce(ctx context.Context, name string, r io.ReadSeeker, size int64, sum []byte, meta map[string]string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := checkMeta(meta); err != nil {
		return err
	}
	obj := s.objectPath(name)
	if _, err := os.Lstat(obj); err == nil {
		return s.taken(name)
	}
	return s.publish(ctx, name, r, size, sum, meta, func(tmp string) error {
		// A hard link, unlike a rename, refuses a name that exists: of two
		// writers exactly one links.
		if err := os.Link(tmp, obj); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return s.taken(name)
			}
			return fmt.Errorf("folder backend: publishing %s: %w", name, err)
		}
		return nil
	})
}

func (s *Store) taken(name string) error {
	if fi, err := os.Lstat(s.objectPath(name)); err == nil && fi.IsDir() {
		return fmt.Errorf("folder backend: %s is a folder of other objects in %s, so it cannot be an object too", name, s.dir)
	}
	return fmt.Errorf("folder backend: %s: %w", name, backend.ErrExists)
}

// publish stages the bytes of r in a hidden file beside the object, checks
// their size and MD5, flushes them, records the sidecar, and lets commit put
// the file in place.
func (s *Store) publish(ctx context.Context, name string, r io.Reader, size int64, sum []byte, meta map[string]string, commit func(tmp string) error) error {
	obj := s.objectPath(name)
	dir := filepath.Dir(obj)
	if err := mkdirAll(dir); err != nil {
		return fmt.Errorf("folder backend: writing %s: %w", name, err)
	}
	if err := mkdirAll(filepath.Dir(s.metaPath(name, 0))); err != nil {
		return fmt.Errorf("folder backend: writing %s: %w", name, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(obj)+".partial-*")
	if err != nil {
		return fmt.Errorf("folder backend: writing %s: %w", name, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a link the object keeps the bytes; otherwise nothing is left
	ino, sum, err := fill(ctx, f, r, size, sum)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("folder backend: writing %s: %w", name, err)
	}
	side, err := json.Marshal(sidecar{MD5: sum, Metadata: meta})
	if err != nil {
		return err
	}
	metaPath := s.metaPath(name, ino)
	if err := durable.WriteFile(metaPath, side, filePerm); err != nil {
		return fmt.Errorf("folder backend: recording the metadata of %s: %w", name, err)
	}
	if err := ctx.Err(); err != nil {
		os.Remove(metaPath)
		return err
	}
	if err := commit(tmp); err != nil {
		os.Remove(metaPath)
		return err
	}
	if err := durable.SyncDir(dir); err != nil {
		return fmt.Errorf("folder backend: %s is written but flushing its folder failed: %w", name, err)
	}
	return nil
}

// fill writes exactly size bytes of r to f, checks their MD5 against sum
// (when given), flushes them and returns f's inode and the MD5.
func fill(ctx context.Context, f *os.File, r io.Reader, size int64, sum []byte) (uint64, []byte, error) {
	if sum != nil && len(sum) != md5.Size {
		return 0, nil, fmt.Errorf("the MD5 given has %d bytes, not %d", len(sum), md5.Size)
	}
	h := md5.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(ctxReader{ctx, r}, size))
	if err != nil {
		return 0, nil, err
	}
	if n != size {
		return 0, nil, fmt.Errorf("the reader gave %d bytes, not the %d said", n, size)
	}
	got := h.Sum(nil)
	if sum != nil && !bytes.Equal(got, sum) {
		return 0, nil, fmt.Errorf("the bytes' MD5 is %x, not the %x given; nothing was written", got, sum)
	}
	if err := f.Sync(); err != nil {
		return 0, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		return 0, nil, err
	}
	ino, err := inode(fi)
	return ino, got, err
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Stat describes the object name.
func (s *Store) Stat(ctx context.Context, name string) (backend.Info, error) {
	if err := checkName(name); err != nil {
		return backend.Info{}, err
	}
	// A lease holder may replace the object between the look at the file
	// and the read of its sidecar; then the file is looked at again.
	var info backend.Info
	var err error
	for range 5 {
		var again bool
		info, again, err = s.stat(name)
		if !again {
			return info, err
		}
	}
	return info, nil
}

func (s *Store) stat(name string) (info backend.Info, again bool, err error) {
	obj := s.objectPath(name)
	fi, err := os.Lstat(obj)
	if errors.Is(err, fs.ErrNotExist) || err == nil && !fi.Mode().IsRegular() {
		return backend.Info{}, false, fmt.Errorf("folder backend: %s: %w", name, backend.ErrNotFound)
	}
	if err != nil {
		return backend.Info{}, false, fmt.Errorf("folder backend: %w", err)
	}
	info = backend.Info{Name: name, Size: fi.Size(), Modified: fi.ModTime()}
	ino, err := inode(fi)
	if err != nil {
		return backend.Info{}, false, err
	}
	b, err := os.ReadFile(s.metaPath(name, ino))
	if errors.Is(err, fs.ErrNotExist) {
		// Either replaced meanwhile, or copied to this folder without
		// keeping its inodes: then there is no MD5 or metadata to give.
		now, serr := os.Lstat(obj)
		return info, serr == nil && !os.SameFile(fi, now), nil
	}
	if err != nil {
		return backend.Info{}, false, fmt.Errorf("folder backend: reading the metadata of %s: %w", name, err)
	}
	var side sidecar
	if err := json.Unmarshal(b, &side); err != nil {
		return backend.Info{}, false, fmt.Errorf("folder backend: the metadata of %s in %s is damaged: %w", name, s.metaPath(name, ino), err)
	}
	info.MD5, info.Metadata = side.MD5, side.Metadata
	return info, false, nil
}

// Open reads the object name.
func (s *Store) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	f, err := os.Open(s.objectPath(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("folder backend: %s: %w", name, backend.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("folder backend: %w", err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("folder backend: %s: %w", name, backend.ErrNotFound)
	}
	return f, nil
}

// List calls fn for the objects whose names begin with prefix, in lexical
// order. It walks only the folder the prefix names.
func (s *Store) List(ctx context.Context, prefix string, fn func(backend.Info) error) error {
	base := ""
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		base = prefix[:i]
		if err := checkName(base); err != nil {
			return err
		}
	}
	root := filepath.Join(s.dir, "objects")
	var names []string
	err := filepath.WalkDir(filepath.Join(root, filepath.FromSlash(base)), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && p != root {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		if d.IsDir() && p != root {
			if dir := name + "/"; !strings.HasPrefix(dir, prefix) && !strings.HasPrefix(prefix, dir) {
				return fs.SkipDir // "natives/ac" under the prefix "natives/ab"
			}
			return nil
		}
		if d.Type().IsRegular() && strings.HasPrefix(name, prefix) {
			names = append(names, name)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("folder backend: listing %q in %s: %w", prefix, s.dir, err)
	}
	// A walk visits "a/1" before "a-b"; object stores order by the whole name.
	slices.Sort(names)
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		info, err := s.Stat(ctx, name)
		if err != nil {
			return err
		}
		if err := fn(info); err != nil {
			return err
		}
	}
	return nil
}

// mkdirAll makes dir and flushes the entries of the folders it adds, so
// that what is published in them survives a crash.
func mkdirAll(dir string) error {
	var added []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || filepath.Dir(d) == d {
			break
		}
		added = append(added, d)
	}
	if len(added) == 0 {
		return nil
	}
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return err
	}
	for _, d := range added {
		if err := durable.SyncDir(filepath.Dir(d)); err != nil {
			return err
		}
	}
	return nil
}
