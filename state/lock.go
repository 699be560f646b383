package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"time"

	"github.com/collect-ediscovery/collect/internal/durable"
)

// Holder is who holds the write lock on a state file, as recorded in the
// lock file next to it.
type Holder struct {
	User      string    `json:"user"`
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	Operation string    `json:"operation"`
	Since     time.Time `json:"since"`
	Tool      string    `json:"tool_version,omitempty"`
}

// LockFilePath is the file that records who holds the write lock on the
// state file at path. The lock itself is the operating system's lock on
// the state file; this file only explains it.
func LockFilePath(path string) string { return path + ".lock.json" }

// currentHolder describes this process.
func currentHolder(opts *Options, now time.Time) Holder {
	h := Holder{PID: os.Getpid(), Operation: opts.Operation, Since: now.UTC(), Tool: opts.ToolVersion}
	if u, err := user.Current(); err == nil {
		h.User = u.Username
	}
	if h.User == "" {
		h.User = os.Getenv("USER")
	}
	h.Host, _ = os.Hostname()
	return h
}

// writeLockFile records the holder atomically, replacing any lock file left
// by a process that died while holding the lock.
func writeLockFile(path string, h Holder) error {
	b, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return err
	}
	lf := LockFilePath(path)
	if err := durable.WriteFile(lf, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("record the lock holder in %s: %w", lf, err)
	}
	return nil
}

// readLockFile returns the recorded holder, or nil when there is none or it
// cannot be read.
func readLockFile(path string) *Holder {
	b, err := os.ReadFile(LockFilePath(path))
	if err != nil {
		return nil
	}
	var h Holder
	if json.Unmarshal(b, &h) != nil {
		return nil
	}
	return &h
}

// lockedError explains a lock that could not be taken.
func lockedError(path string, readOnly bool, waited time.Duration) *LockedError {
	e := &LockedError{Path: path, Holder: readLockFile(path), Waited: waited, ReadOnly: readOnly}
	if e.Holder != nil {
		host, _ := os.Hostname()
		if e.Holder.Host == host && e.Holder.PID > 0 && !processAlive(e.Holder.PID) {
			e.Stale = true
		}
	}
	return e
}

func removeLockFile(path string) error {
	err := os.Remove(LockFilePath(path))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}
