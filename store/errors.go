package store

import (
	"errors"
	"fmt"
	"syscall"
)

// ErrDiskFull matches (with errors.Is) every error the store returns because
// the disk or the user's quota on the disk that holds the output folder is full.
var ErrDiskFull = errors.New("output folder's disk is full")

// ErrSizeMismatch matches errors for a message body whose byte count was not
// the one announced (a truncated or over-long download).
var ErrSizeMismatch = errors.New("message size mismatch")

// ErrNativeConflict matches the error returned when a native with the same
// SHA-256 name already exists but does not have the expected size: the
// existing file is kept untouched and must be examined with verify.
var ErrNativeConflict = errors.New("existing native does not match its name")

// DiskFullError reports a write, sync or rename that failed because the disk
// (or quota) is full. Lost says what was not recorded as a consequence.
type DiskFullError struct {
	Dir  string // the output folder
	Op   string // write, sync, rename, create, mkdir
	Path string // file involved, relative to Dir when possible
	Lost string // what was not recorded, e.g. "nothing was recorded for this message"
	Err  error  // the underlying error (ENOSPC or EDQUOT)
}

func (e *DiskFullError) Error() string {
	// The errno alone reads better than the wrapped chain, which repeats the path.
	cause := e.Err
	var errno syscall.Errno
	if errors.As(e.Err, &errno) {
		cause = errno
	}
	return fmt.Sprintf("the disk holding the output folder %s is full (%v at %s of %s): %s; free space on that disk and re-run apply",
		e.Dir, cause, e.Op, e.Path, e.Lost)
}

func (e *DiskFullError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrDiskFull) true.
func (e *DiskFullError) Is(target error) bool { return target == ErrDiskFull }

// diskFull wraps err in a *DiskFullError when it is an out-of-space error and
// returns it unchanged otherwise.
func diskFull(err error, dir, op, path, lost string) error {
	if err == nil || !isOutOfSpace(err) {
		return err
	}
	var already *DiskFullError
	if errors.As(err, &already) {
		return err
	}
	return &DiskFullError{Dir: dir, Op: op, Path: path, Lost: lost, Err: err}
}
