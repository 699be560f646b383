package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/collect-ediscovery/collect/internal/record"
)

// ManifestTail reads the last complete line of the manifest of the output
// folder dir without changing anything; ok is false when the manifest is
// missing or holds no complete line.
func ManifestTail(dir string) (e ManifestEntry, ok bool, err error) {
	path := filepath.Join(dir, ManifestFile)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return e, false, nil
	}
	if err != nil {
		return e, false, fmt.Errorf("store: opening manifest: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return e, false, fmt.Errorf("store: reading manifest %s: %w", path, err)
	}
	_, line, err := lastLine(f, fi.Size())
	if err != nil {
		return e, false, fmt.Errorf("store: reading manifest %s: %w", path, err)
	}
	if line == nil {
		return e, false, nil
	}
	if err := json.Unmarshal(line, &e); err != nil || e.Seq == 0 {
		return e, false, fmt.Errorf("store: the last line of manifest %s is not a manifest entry (%q); the file was changed outside collect",
			path, truncateForMessage(line))
	}
	return e, true, nil
}

// ReadRuns reads every run record of the output folder dir, in order of
// run ID (which starts with the time the run started). A folder without
// run records has none.
func ReadRuns(dir string) ([]record.Run, error) {
	entries, err := os.ReadDir(filepath.Join(dir, RunsDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: listing run records: %w", err)
	}
	var runs []record.Run
	for _, de := range entries {
		id, ok := strings.CutSuffix(de.Name(), ".json")
		if !ok || !de.Type().IsRegular() || validRunID(id) != nil {
			continue // a partial file of an interrupted write, or not a run record
		}
		b, err := os.ReadFile(filepath.Join(dir, RunsDir, de.Name()))
		if err != nil {
			return nil, fmt.Errorf("store: reading run record: %w", err)
		}
		var r record.Run
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("store: run record %s/%s is not valid: %w", RunsDir, de.Name(), err)
		}
		r.FillStatus()
		runs = append(runs, r)
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].RunID < runs[j].RunID })
	return runs, nil
}
