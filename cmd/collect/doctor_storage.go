package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/collect-ediscovery/collect/config"
	"github.com/collect-ediscovery/collect/store"
)

// Free space below which apply cannot be expected to get far, and below
// which doctor warns.
const (
	freeSpaceFail = 64 << 20
	freeSpaceWarn = 1 << 30
)

// storageChecks checks, writing nothing, that apply can write the output
// folder and the folder of the state file, and that they have room.
func storageChecks(m *config.Matter) []doctorCheck {
	out := []doctorCheck{folderCheck("output", "output folder", m.Output.Path,
		"set output.path in the matter's output block to a folder this user can write")}
	stateDir := filepath.Dir(m.State.Path)
	if stateDir != filepath.Clean(m.Output.Path) {
		out = append(out, folderCheck("state", "folder of the state file", stateDir,
			"set path in the matter's state block to a file in a folder this user can write"))
	}
	return out
}

// folderCheck checks one folder apply writes to. A folder that does not
// exist yet is checked where apply will create it.
func folderCheck(check, what, dir, elsewhere string) doctorCheck {
	c := doctorCheck{Check: check, Status: statusOK}
	at, err := nearestFolder(dir)
	if err != nil {
		c.Status, c.Message, c.Fix = statusFail, fmt.Sprintf("the %s %s cannot be used: %v", what, folderName(dir), err), elsewhere
		return c
	}
	where := fmt.Sprintf("the %s %s", what, folderName(dir))
	if at != dir {
		where = fmt.Sprintf("the %s %s does not exist yet; apply creates it in %s, which", what, folderName(dir), folderName(at))
	}
	if err := store.CanWrite(at); err != nil {
		c.Status, c.Message = statusFail, fmt.Sprintf("%s cannot be written by this user: %v", where, err)
		c.Fix = fmt.Sprintf("give this user write access to %s, or %s", folderName(at), elsewhere)
		return c
	}
	free, err := store.FreeSpace(at)
	if err != nil {
		c.Message = where + " is writable (its free space cannot be measured on this system)"
		return c
	}
	c.Status, c.Fix = spaceStatus(free)
	c.Message = fmt.Sprintf("%s is writable, %s free", where, byteSize(int64(min(free, 1<<62))))
	return c
}

// spaceStatus grades free space. A disk that fills stops apply cleanly
// (it continues where it stopped), so little space is a warning first.
func spaceStatus(free uint64) (status, fix string) {
	switch {
	case free < freeSpaceFail:
		return statusFail, "free space on that disk, or put the folder on a larger one: apply would stop almost at once"
	case free < freeSpaceWarn:
		return statusWarn, "free space on that disk, or put the folder on a larger one: apply stops when the disk is full and continues where it stopped once there is room"
	}
	return statusOK, ""
}

// nearestFolder returns dir if it is a folder, or the nearest folder above
// it when it does not exist yet; an error when dir or a folder above it
// is a file.
func nearestFolder(dir string) (string, error) {
	for p := filepath.Clean(dir); ; {
		fi, err := os.Stat(p)
		switch {
		case err == nil && fi.IsDir():
			return p, nil
		case err == nil:
			return "", fmt.Errorf("%s is a file, not a folder", rel(p))
		case !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
			// ENOTDIR: a file above it, found on the way up.
			return "", err
		}
		parent := filepath.Dir(p)
		if parent == p {
			return "", err
		}
		p = parent
	}
}

// folderName names a folder for a person: relative to the working folder,
// which is the matter's.
func folderName(p string) string {
	if r := rel(p); r != "." {
		return r
	}
	return "the matter's folder"
}
