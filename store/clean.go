package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/collect-ediscovery/collect/internal/durable"
)

// CleanReport lists the leftover temp files Clean removed.
type CleanReport struct {
	Removed []string // relative to the output folder, slash-separated, sorted
	Bytes   int64    // their total size
}

// Clean removes the temp files a crashed run left behind (natives/.tmp/.partial-*
// and runs/.partial-*). They were never renamed into place, so they are never
// evidence. Files being written by this Store are skipped. Call it at the start
// of a run while holding the state lock, so no other process is writing.
func (s *Store) Clean() (CleanReport, error) {
	var rep CleanReport
	var errs []error
	for _, sub := range []string{TempDir, RunsDir} {
		dir := s.abs(sub)
		entries, err := os.ReadDir(dir)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			errs = append(errs, fmt.Errorf("store: listing %s: %w", sub, err))
			continue
		}
		removed := false
		for _, e := range entries {
			if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), TempPrefix) {
				continue
			}
			p := filepath.Join(dir, e.Name())
			s.mu.Lock()
			_, busy := s.inFlight[p]
			s.mu.Unlock()
			if busy {
				continue
			}
			var size int64
			if fi, err := e.Info(); err == nil {
				size = fi.Size()
			}
			if err := os.Remove(p); err != nil {
				if !errors.Is(err, fs.ErrNotExist) {
					errs = append(errs, fmt.Errorf("store: removing leftover temp file %s: %w", sub+"/"+e.Name(), err))
				}
				continue
			}
			removed = true
			rep.Removed = append(rep.Removed, sub+"/"+e.Name())
			rep.Bytes += size
		}
		if removed {
			if err := durable.SyncDir(dir); err != nil {
				errs = append(errs, fmt.Errorf("store: syncing %s: %w", sub, err))
			}
		}
	}
	sort.Strings(rep.Removed)
	return rep, errors.Join(errs...)
}
