// Package backend is where a matter's collection lives when it is kept in
// an object store rather than in the local output folder and state file:
// Azure Blob Storage, or a folder standing in for one. A backend holds
//
//	natives/<aa>/<sha256>.eml            message bytes, content addressed, written once
//	shards/<i>-of-<n>/state.db           each shard's bbolt state, replaced under its lease
//	shards/<i>-of-<n>/manifest/<from>-<to>.jsonl
//	                                     the shard's manifest lines, in immutable segments
//	shards/<i>-of-<n>/runs/<run-id>.json the shard's run records, written once
//	shards/<i>-of-<n>/custody/<run-id>.checkpoint
//	                                     the shard's custody checkpoints, written once
//	layout.json                          how many shards the collection has, written once
//
// The names are relative to the backend's prefix. Every implementation is
// held to one conformance suite (backendtest.Run): the same behaviour for
// the folder implementation and for Azure Blob Storage.
package backend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Store is an object store that keeps a collection. Its methods are safe
// for concurrent use.
type Store interface {
	// PutOnce writes the object name with the size bytes of r, whose MD5
	// is md5, only if no object of that name exists: the write is one
	// conditional request (Azure: Put Blob with If-None-Match: *), so two
	// writers of one name never both succeed, and a reader never sees a
	// partial object. When the name is taken it returns an error that
	// errors.Is ErrExists and leaves the object as it was; the caller
	// compares it (Stat) with what it meant to write. meta is kept with
	// the object (names: lower-case letters and digits).
	PutOnce(ctx context.Context, name string, r io.ReadSeeker, size int64, md5 []byte, meta map[string]string) error

	// Stat describes the object name, or returns an error that errors.Is
	// ErrNotFound.
	Stat(ctx context.Context, name string) (Info, error)

	// Open reads the object name (ErrNotFound when there is none).
	Open(ctx context.Context, name string) (io.ReadCloser, error)

	// List calls fn for every object whose name starts with prefix, in
	// lexical order of their names. An error from fn stops it and is
	// returned.
	List(ctx context.Context, prefix string, fn func(Info) error) error

	// Lock takes the exclusive lease on the object name, creating it empty
	// when it does not exist, and records info with it so that another
	// process can say who holds it. When another holder has it, Lock
	// returns at once a *HeldError naming that holder; the caller decides
	// whether to wait and try again. The lease is kept alive until
	// Release; if it cannot be (the store was unreachable longer than the
	// lease lasts, or another process broke it), Lease.Err says so.
	Lock(ctx context.Context, name string, info LockInfo) (Lease, error)

	// Holder returns who holds the lease on name, if anyone, without
	// taking it.
	Holder(ctx context.Context, name string) (LockInfo, bool, error)

	// String names the store for messages: "azurerm: account/container/prefix",
	// "folder: /path".
	String() string
}

// Lease is an exclusive hold on one object, as Lock took it.
type Lease interface {
	// Replace writes the leased object with the size bytes of r, whose MD5
	// is md5: the whole object at once, only while the lease is held. It
	// returns an error that errors.Is ErrLeaseLost when it is not.
	Replace(ctx context.Context, r io.ReadSeeker, size int64, md5 []byte) error

	// Err is nil while the lease is held and kept alive; once it is lost
	// it returns an error that errors.Is ErrLeaseLost, saying why.
	Err() error

	// Release gives the lease up; the object stays. Releasing a lost lease
	// returns its Err.
	Release(ctx context.Context) error
}

// Info describes one object.
type Info struct {
	Name     string // relative to the store's prefix, slash-separated
	Size     int64
	MD5      []byte // as the store computed or checked it on write; nil when it keeps none
	Metadata map[string]string
	Modified time.Time
}

// LockInfo says who holds a lease, as Terraform's lock info does.
type LockInfo struct {
	ID        string    `json:"id"` // the lease's own ID, set by Lock
	Operation string    `json:"operation"`
	Who       string    `json:"who"` // user@host
	Version   string    `json:"version"`
	Created   time.Time `json:"created"`
	Path      string    `json:"path"` // the locked object's name
}

func (l LockInfo) String() string {
	return fmt.Sprintf("collect %s run by %s since %s (collect %s, lock ID %s)",
		l.Operation, l.Who, l.Created.UTC().Format(time.RFC3339), l.Version, l.ID)
}

var (
	// ErrExists is PutOnce's error when the name is already taken.
	ErrExists = errors.New("an object of that name already exists")
	// ErrNotFound is the error for a name that holds no object.
	ErrNotFound = errors.New("no such object")
	// ErrLeaseLost is the error of a lease that is no longer held.
	ErrLeaseLost = errors.New("the lease was lost")
)

// HeldError is Lock's error when another process holds the lease.
type HeldError struct {
	Name   string
	Holder LockInfo
	Store  string // the store's String
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("%s in %s is locked by %s", e.Name, e.Store, e.Holder)
}
