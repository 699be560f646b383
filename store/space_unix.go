//go:build !windows

package store

import (
	"errors"
	"syscall"
)

func isOutOfSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}
