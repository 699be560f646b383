package folder

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/collect-ediscovery/collect/backend"
)

// holderWait bounds how long a reader of a lock file waits for a holder
// that has just taken the lock to write who it is.
const holderWait = 2 * time.Second

// Lock takes the lease on name: an exclusive lock on locks/<name>, held by
// the open file, so that it ends with the process that holds it.
func (s *Store) Lock(ctx context.Context, name string, info backend.LockInfo) (backend.Lease, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	path := s.lockPath(name)
	if err := mkdirAll(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("folder backend: locking %s: %w", name, err)
	}
	f, err := s.takeLock(ctx, name, path)
	if err != nil {
		return nil, err
	}
	info.ID, info.Path = uuid.NewString(), name
	if err := writeHolder(f, info); err != nil {
		unlock(f)
		f.Close()
		return nil, fmt.Errorf("folder backend: recording the holder of %s in %s: %w", name, path, err)
	}
	l := &lease{s: s, name: name, path: path, f: f}
	empty := bytes.NewReader(nil)
	if err := s.PutOnce(ctx, name, empty, 0, nil, nil); err != nil && !errors.Is(err, backend.ErrExists) {
		return nil, errors.Join(err, l.Release(ctx))
	}
	return l, nil
}

// takeLock opens the lock file and locks it, or says who holds it.
func (s *Store) takeLock(ctx context.Context, name, path string) (*os.File, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, filePerm)
		if err != nil {
			return nil, fmt.Errorf("folder backend: locking %s: %w", name, err)
		}
		took, err := tryLock(f, true)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("folder backend: locking %s: %w", name, err)
		}
		if !took {
			f.Close()
			holder, held, err := s.holder(ctx, name)
			if err != nil {
				return nil, err
			}
			if !held {
				continue // released while we looked
			}
			return nil, &backend.HeldError{Name: name, Holder: holder, Store: s.String()}
		}
		// A lease broken between the open and the lock left this file
		// without a name; the lock must be on the file others open.
		if same, err := samePath(f, path); err != nil || !same {
			unlock(f)
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("folder backend: locking %s: %w", name, err)
			}
			continue
		}
		return f, nil
	}
}

func writeHolder(f *os.File, info backend.LockInfo) error {
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	// Emptied first: a reader sees nothing or the whole record, never a
	// mixture with a dead holder's.
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt(append(b, '\n'), 0); err != nil {
		return err
	}
	return f.Sync()
}

// Holder says who holds the lease on name, without taking it.
func (s *Store) Holder(ctx context.Context, name string) (backend.LockInfo, bool, error) {
	if err := checkName(name); err != nil {
		return backend.LockInfo{}, false, err
	}
	return s.holder(ctx, name)
}

func (s *Store) holder(ctx context.Context, name string) (backend.LockInfo, bool, error) {
	path := s.lockPath(name)
	deadline := time.Now().Add(holderWait)
	for {
		info, held, complete, err := readHolder(path)
		if err != nil {
			return backend.LockInfo{}, false, fmt.Errorf("folder backend: reading the holder of %s: %w", name, err)
		}
		if !held || complete || time.Now().After(deadline) {
			if held && !complete {
				info = backend.LockInfo{Path: name} // held by a process that has not said who it is
			}
			return info, held, nil
		}
		select {
		case <-ctx.Done():
			return backend.LockInfo{}, false, ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// readHolder reads the lock file at path: whether it is locked, and when it
// is, the holder it records, complete once the holder has written it.
func readHolder(path string) (info backend.LockInfo, held, complete bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return info, false, false, nil
	}
	if err != nil {
		return info, false, false, err
	}
	defer f.Close()
	took, err := tryLock(f, false)
	if err != nil {
		return info, false, false, err
	}
	if took {
		return info, false, false, unlock(f)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return info, true, false, err
	}
	complete = json.Unmarshal(b, &info) == nil && info.ID != ""
	return info, true, complete, nil
}

// samePath reports whether f is still the file at path.
func samePath(f *os.File, path string) (bool, error) {
	held, err := f.Stat()
	if err != nil {
		return false, err
	}
	now, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(held, now), nil
}

// lease is a held lock file.
type lease struct {
	s    *Store
	name string
	path string

	mu   sync.Mutex
	f    *os.File // nil once released
	lost error
}

// Err is nil while the lock file this lease locked is still the one at its
// path; once another process removed or replaced it, the lease is lost.
func (l *lease) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.check()
}

func (l *lease) check() error {
	if l.lost != nil {
		return l.lost
	}
	if l.f == nil {
		return fmt.Errorf("folder backend: the lease on %s was released: %w", l.name, backend.ErrLeaseLost)
	}
	same, err := samePath(l.f, l.path)
	switch {
	case err != nil:
		l.lost = fmt.Errorf("folder backend: the lock file %s of %s cannot be checked (%v): %w", l.path, l.name, err, backend.ErrLeaseLost)
	case !same:
		l.lost = fmt.Errorf("folder backend: the lock file %s of %s was removed or replaced, so another process may hold it: %w", l.path, l.name, backend.ErrLeaseLost)
	}
	return l.lost
}

// Replace writes the whole object at once: a flushed temporary file renamed
// over it, while the lease is held. The object's metadata stays.
func (l *lease) Replace(ctx context.Context, r io.ReadSeeker, size int64, sum []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.check(); err != nil {
		return err
	}
	obj := l.s.objectPath(l.name)
	var oldMeta string
	var meta map[string]string
	if fi, err := os.Lstat(obj); err == nil {
		ino, err := inode(fi)
		if err != nil {
			return err
		}
		oldMeta = l.s.metaPath(l.name, ino)
		if info, err := l.s.Stat(ctx, l.name); err == nil {
			meta = info.Metadata
		}
	}
	err := l.s.publish(ctx, l.name, r, size, sum, meta, func(tmp string) error {
		if err := l.check(); err != nil {
			return err
		}
		if err := os.Rename(tmp, obj); err != nil {
			return fmt.Errorf("folder backend: replacing %s: %w", l.name, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if oldMeta != "" {
		// The old version's record goes with it; readers that still hold
		// its file look again.
		os.Remove(oldMeta)
	}
	return nil
}

// Release unlocks the lock file, emptied first so that it names nobody.
// Releasing again does nothing; releasing a lost lease returns why it was.
func (l *lease) Release(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return l.lost
	}
	err := l.check()
	f := l.f
	l.f = nil
	if err == nil {
		if terr := f.Truncate(0); terr != nil {
			err = fmt.Errorf("folder backend: clearing the lock file of %s: %w", l.name, terr)
		}
	}
	if uerr := unlock(f); uerr != nil && err == nil {
		err = fmt.Errorf("folder backend: unlocking %s: %w", l.name, uerr)
	}
	f.Close() // closing ends the lock in any case
	return err
}
