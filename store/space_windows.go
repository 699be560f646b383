//go:build windows

package store

import (
	"errors"
	"syscall"
)

// Windows reports a full disk as ERROR_DISK_FULL (112) or ERROR_HANDLE_DISK_FULL (39).
const (
	errorHandleDiskFull syscall.Errno = 39
	errorDiskFull       syscall.Errno = 112
)

func isOutOfSpace(err error) bool {
	return errors.Is(err, errorDiskFull) || errors.Is(err, errorHandleDiskFull) ||
		errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}
