package state

import (
	"errors"
	"fmt"
	"time"
)

// ErrReadOnly is returned by Update on a state opened read-only.
var ErrReadOnly = errors.New("the state is open read-only (as for plan); only apply writes to it")

// LockedError says that another process holds the lock on the state file.
type LockedError struct {
	Path string
	// Holder is who holds the write lock, as its lock file says. It is nil
	// when there is no lock file: the holder is then a reader, such as a
	// plan, which records nothing.
	Holder *Holder
	// Stale is set when the lock file names a process on this host that no
	// longer runs: the lock is then held by some other process.
	Stale bool
	// Waited is how long the open waited for the lock.
	Waited time.Duration
	// ReadOnly is set when the open wanted only to read: then the holder
	// is a writer.
	ReadOnly bool
}

func (e *LockedError) Error() string {
	what := fmt.Sprintf("state file %s is locked", e.Path)
	if e.Waited > 0 {
		what += fmt.Sprintf(" (waited %s)", e.Waited.Round(time.Millisecond))
	}
	switch {
	case e.Holder != nil && !e.Stale:
		h := e.Holder
		return fmt.Sprintf("%s by collect %s run by %s on %s (pid %d) since %s: "+
			"wait for it to finish, or if that process is gone or stuck, stop it "+
			"(the lock is released when it exits) and run this again, or raise -lock-timeout",
			what, h.Operation, h.User, h.Host, h.PID, h.Since.Format(time.RFC3339))
	case e.Holder != nil:
		h := e.Holder
		return fmt.Sprintf("%s by another process; the lock file names collect %s (pid %d on %s since %s) "+
			"but that process is gone, so the lock file is left over: find the process using the state "+
			"(for example a running collect plan), wait for it to finish and run this again",
			what, h.Operation, h.PID, h.Host, h.Since.Format(time.RFC3339))
	case e.ReadOnly:
		return fmt.Sprintf("%s by another process writing it, which left no lock file: "+
			"wait for it to finish and run this again, or raise -lock-timeout", what)
	default:
		return fmt.Sprintf("%s by another process reading it (such as a collect plan): "+
			"wait for it to finish and run this again, or raise -lock-timeout", what)
	}
}

// CorruptError says a file is not a state file collect can read. The file
// was not modified.
type CorruptError struct {
	Path   string
	Reason string
	Err    error
	// Backup is the copy of the state kept from before the last apply
	// (BackupFilePath), when there is one.
	Backup string
}

func (e *CorruptError) Error() string {
	// What bbolt or the runtime said (Err) stays out of the message: it
	// names pages and offsets, not what to do.
	msg := fmt.Sprintf("state file %s cannot be used: %s. The file was not modified. ", e.Path, e.Reason)
	if e.Backup != "" {
		msg += "Restore it from a backup: " + e.Backup + " is a copy of the state from before the last apply " +
			"(move the damaged file aside and copy the backup in its place). Or rebuild the state from the output " +
			"folder with collect state rebuild, which moves the damaged file aside"
	} else {
		msg += "Rebuild the state from the output folder with collect state rebuild, which moves the damaged file " +
			"aside, or restore it from a backup of your own"
	}
	return msg + "; if it is not a collect state file, set the right path in the matter's state block"
}

func (e *CorruptError) Unwrap() error { return e.Err }

// SchemaError says the state file has a schema version this collect cannot
// use as it is: newer than it knows, or older and opened read-only.
type SchemaError struct {
	Path      string
	Found     int    // schema version of the file
	Supported int    // SchemaVersion of this collect
	WrittenBy string // tool version that last wrote the file, if recorded
	// NoUpgrade is set when this collect has no way to upgrade the file.
	NoUpgrade bool
}

func (e *SchemaError) Error() string {
	if e.Found > e.Supported {
		by := ""
		if e.WrittenBy != "" {
			by = " by collect " + e.WrittenBy
		}
		return fmt.Sprintf("state file %s has schema version %d (written%s), newer than the version %d this collect understands: "+
			"use that version of collect or a newer one; the file was not modified", e.Path, e.Found, by, e.Supported)
	}
	if e.NoUpgrade {
		return fmt.Sprintf("state file %s has schema version %d, which this collect (version %d) cannot upgrade: "+
			"use the version of collect that wrote it, or restore the file from a backup; the file was not modified",
			e.Path, e.Found, e.Supported)
	}
	return fmt.Sprintf("state file %s has schema version %d and this collect uses version %d: "+
		"the file must be upgraded, which only a command that writes the state (collect apply) does, "+
		"after making a backup next to it; the file was not modified", e.Path, e.Found, e.Supported)
}

// ConflictError says a write would replace what the state recorded of a
// collected item, which the state never does.
type ConflictError struct {
	Ref    ItemRef
	Reason string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("item %s of mailbox %s: %s", e.Ref.ID, e.Ref.Mailbox, e.Reason)
}
