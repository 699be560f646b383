//go:build !(linux || darwin || freebsd)

package store

import "errors"

// FreeSpace is not measured on this system.
func FreeSpace(dir string) (uint64, error) { return 0, errors.ErrUnsupported }

// CanWrite cannot tell on this system without writing, so it does not say
// no: apply reports a folder it cannot write when it first writes.
func CanWrite(dir string) error { return nil }
