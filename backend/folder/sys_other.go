//go:build !unix

package folder

import (
	"errors"
	"io/fs"
	"os"
)

var errUnsupported = errors.New("the folder backend needs Linux or another unix system: its leases are flock(2) locks; use the azurerm backend here")

func supported() error { return errUnsupported }

func inode(fs.FileInfo) (uint64, error) { return 0, errUnsupported }

func tryLock(*os.File, bool) (bool, error) { return false, errUnsupported }

func unlock(*os.File) error { return errUnsupported }
