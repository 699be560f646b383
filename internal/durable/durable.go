// Package durable writes files that survive a crash whole or not at all:
// the bytes go to a temporary file in the target's folder, are flushed to
// disk, renamed over the target, and the folder itself is flushed so that
// the rename is on disk too. A reader sees the old file or the new one,
// never a part.
package durable

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// File is the temporary file a write fills.
type File interface {
	io.Writer
	Sync() error
	Close() error
}

// Options adjust a write; the zero value suits most files.
type Options struct {
	// Temp is the path of the temporary file, in the target's folder.
	// Empty means a hidden name made from the target's and a random part.
	Temp string

	// Create opens the temporary file exclusively. Nil means the operating
	// system; the store injects one to simulate a full disk.
	Create func(name string, perm fs.FileMode) (File, error)

	// NoReplace keeps an existing file at the target: the write fails with
	// an error matching fs.ErrExist and leaves the old file as it was.
	NoReplace bool
}

// Error says which step of a write failed and on which path, so that a
// caller can explain it (the store tells a full disk apart by step).
type Error struct {
	Op   string // create, write, sync, close, chmod, rename, link, sync folder
	Path string // the temporary file, the target or the folder
	Err  error
}

func (e *Error) Error() string {
	var pe *fs.PathError
	var le *os.LinkError
	if errors.As(e.Err, &pe) || errors.As(e.Err, &le) {
		return e.Err.Error() // already names the operation and the path
	}
	return fmt.Sprintf("%s %s: %v", e.Op, e.Path, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// syncFolder flushes a folder's entries; tests replace it to see that it runs.
var syncFolder = SyncDir

// WriteFile writes data to path durably with permissions perm.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	return Options{}.WriteFile(path, data, perm)
}

// Write fills path durably through fill, with permissions perm. When fill
// fails nothing is left behind and the file at path, if any, is unchanged.
func Write(path string, perm fs.FileMode, fill func(io.Writer) error) error {
	return Options{}.Write(path, perm, fill)
}

// WriteFile is [WriteFile] with these options.
func (o Options) WriteFile(path string, data []byte, perm fs.FileMode) error {
	return o.Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Write is [Write] with these options.
func (o Options) Write(path string, perm fs.FileMode, fill func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	tmp := o.Temp
	if tmp == "" {
		tmp = filepath.Join(dir, "."+filepath.Base(path)+".tmp-"+random())
	}
	create := o.Create
	if create == nil {
		create = createFile
	}
	f, err := create(tmp, perm)
	if err != nil {
		return &Error{"create", tmp, err}
	}
	defer func() {
		if err != nil {
			if rerr := os.Remove(tmp); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
				err = errors.Join(err, fmt.Errorf("remove the temporary file %s: %w", tmp, rerr))
			}
		}
	}()
	if err := fill(f); err != nil {
		f.Close()
		return &Error{"write", tmp, err}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return &Error{"sync", tmp, err}
	}
	if err := f.Close(); err != nil {
		return &Error{"close", tmp, err}
	}
	// The mode is the caller's, whatever the umask or an injected Create did.
	if err := os.Chmod(tmp, perm); err != nil {
		return &Error{"chmod", tmp, err}
	}
	if o.NoReplace {
		// A hard link, unlike a rename, refuses an existing target.
		if err := os.Link(tmp, path); err != nil {
			return &Error{"link", path, err}
		}
		if err := os.Remove(tmp); err != nil {
			os.Remove(path)
			return &Error{"remove", tmp, err}
		}
	} else if err := os.Rename(tmp, path); err != nil {
		return &Error{"rename", path, err}
	}
	if err := syncFolder(dir); err != nil {
		// The new file is in place; only its survival of a crash is in doubt.
		return &Error{"sync folder", dir, err}
	}
	return nil
}

func createFile(name string, perm fs.FileMode) (File, error) {
	return os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
}

func random() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
