package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/collect-ediscovery/collect/internal/durable"
)

// HealthyError says Rebuild was asked to replace a state file that opens
// and holds a collection, without force.
type HealthyError struct {
	Path    string
	Lineage string
	Serial  uint64
	Items   uint64 // the last sequence number assigned
}

func (e *HealthyError) Error() string {
	return fmt.Sprintf("state file %s is not damaged (lineage %s, serial %d, %d collected items): rebuild replaces a "+
		"state that opens only when told to with -force, and then keeps the old file next to it; nothing was changed",
		e.Path, e.Lineage, e.Serial, e.Items)
}

// Rebuilt says what Rebuild did with the file it replaced.
type Rebuilt struct {
	// Aside is where the file that was at the path is now, "" when there
	// was none.
	Aside string
	// Damaged is set when that file could not be opened.
	Damaged bool
}

// Rebuild makes a new state file at path, with opts.Lineage, filled by
// fill, in place of the one there. The new file is made under another name
// and renamed into place only once fill succeeded. The file it replaces is
// never deleted: a damaged one is moved to <path>.damaged-<time>; one that
// opens and holds anything is replaced only when force is set, and moved
// to <path>.replaced-<time>. A file that opens stays locked until the new
// one is in place, so that no apply writes to it meanwhile.
func Rebuild(path string, opts Options, force bool, fill func(*DB) error) (Rebuilt, error) {
	var res Rebuilt
	stamp := opts.now().UTC().Format("20060102T150405Z")
	suffix := ""
	switch _, err := os.Stat(path); {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return res, fmt.Errorf("rebuild state file %s: %w", path, err)
	default:
		oldOpts := opts
		oldOpts.ReadOnly, oldOpts.Lineage = false, ""
		old, err := Open(path, oldOpts)
		var ce *CorruptError
		switch {
		case errors.As(err, &ce):
			res.Damaged, suffix = true, ".damaged-"
		case err != nil:
			return res, err
		default:
			defer old.Close()
			var meta Meta
			var last uint64
			if err := old.View(func(r *ReadTx) error { meta, last = r.Meta(), r.LastSeq(); return nil }); err != nil {
				return res, err
			}
			if (meta.Serial > 0 || last > 0) && !force {
				return res, &HealthyError{Path: path, Lineage: meta.Lineage, Serial: meta.Serial, Items: last}
			}
			suffix = ".replaced-"
		}
	}

	built := path + ".rebuild-" + stamp
	if _, err := os.Lstat(built); err == nil {
		return res, fmt.Errorf("rebuild state file %s: %s exists, left by a rebuild that did not finish; move it away and run this again", path, built)
	}
	newOpts := opts
	newOpts.ReadOnly = false
	db, err := Open(built, newOpts)
	if err != nil {
		os.Remove(built)
		return res, err
	}
	err = fill(db)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(built)
		return res, fmt.Errorf("rebuild state file %s: %w; nothing was changed", path, err)
	}
	if suffix != "" {
		// A link keeps the old file under its new name while the rename
		// below replaces it at path in one step.
		for n := 1; ; n++ {
			res.Aside = path + suffix + stamp
			if n > 1 {
				res.Aside += fmt.Sprintf("-%d", n)
			}
			err := os.Link(path, res.Aside)
			if err == nil {
				break
			}
			if !errors.Is(err, fs.ErrExist) || n == 100 {
				os.Remove(built)
				return Rebuilt{}, fmt.Errorf("rebuild state file %s: keep the old file as %s: %w; nothing was changed", path, res.Aside, err)
			}
		}
	}
	if err := os.Rename(built, path); err != nil {
		os.Remove(built)
		if res.Aside != "" {
			os.Remove(res.Aside) // only the second name of the file still at path
		}
		return Rebuilt{}, fmt.Errorf("rebuild state file %s: put the rebuilt file in place: %w; nothing was changed", path, err)
	}
	if err := durable.SyncDir(filepath.Dir(path)); err != nil {
		return res, fmt.Errorf("rebuild state file %s: the rebuilt file is in place, but the folder could not be flushed to disk: %w", path, err)
	}
	return res, nil
}
