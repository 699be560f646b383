package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/collect-ediscovery/collect/internal/durable"
	"github.com/collect-ediscovery/collect/internal/record"
)

// validRunID keeps run IDs usable as file names everywhere.
func validRunID(id string) error {
	if id == "" || len(id) > 128 || id[0] == '.' {
		return fmt.Errorf("run id %q must be 1 to 128 characters and not start with a dot", id)
	}
	for _, c := range id {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("run id %q may only hold letters, digits, '-', '_' and '.'", id)
		}
	}
	return nil
}

// WriteRun writes runs/<run-id>.json atomically: a reader sees the previous
// record of that run or the new one, never a mix. A run writes its record
// when it starts (Complete false) and replaces it when it ends. Anything that
// looks like a token or secret in a failure is replaced by [REDACTED].
func (s *Store) WriteRun(run record.Run) error {
	if err := validRunID(run.RunID); err != nil {
		return fmt.Errorf("store: %v", err)
	}
	run.Started = run.Started.UTC()
	if !run.Finished.IsZero() {
		run.Finished = run.Finished.UTC()
	}
	run.Failures = redactFailures(run.Failures)
	if run.FailedScope != nil {
		run.FailedScope = redactFailures(run.FailedScope)
	}
	data, err := json.MarshalIndent(run, "", "  ")
	if err != nil {
		return fmt.Errorf("store: encoding run record %s: %w", run.RunID, err)
	}
	data = append(data, '\n')
	name := RunsDir + "/" + run.RunID + ".json"
	return s.writeFileAtomic(name, data, "the run record "+name+" was not written (the collected items are safe)")
}

// redactFailures copies failures, so that the caller's slice is not
// changed by the redaction.
func redactFailures(in []record.Failure) []record.Failure {
	out := make([]record.Failure, len(in))
	for i, f := range in {
		f.Code, f.Message, f.RequestID = redactSecrets(f.Code), redactSecrets(f.Message), redactSecrets(f.RequestID)
		out[i] = f
	}
	return out
}

// ReadRun reads runs/<runID>.json. A record written before runs had a
// status is given the one it implies.
func (s *Store) ReadRun(runID string) (record.Run, error) {
	if err := validRunID(runID); err != nil {
		return record.Run{}, fmt.Errorf("store: %v", err)
	}
	data, err := os.ReadFile(s.abs(RunsDir + "/" + runID + ".json"))
	if err != nil {
		return record.Run{}, fmt.Errorf("store: reading run record: %w", err)
	}
	var r record.Run
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&r); err != nil {
		return record.Run{}, fmt.Errorf("store: run record %s is not valid: %w", runID, err)
	}
	r.FillStatus()
	return r, nil
}

// writeFileAtomic writes rel (slash-separated, relative to the output folder)
// durably, through a temp file in the same folder that Clean leaves alone
// while it is being written.
func (s *Store) writeFileAtomic(rel string, data []byte, lost string) error {
	target := s.abs(rel)
	tmp := filepath.Join(filepath.Dir(target), TempPrefix+filepath.Base(target)+"-"+randText())
	s.mu.Lock()
	s.inFlight[tmp] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.inFlight, tmp)
		s.mu.Unlock()
	}()
	opts := durable.Options{Temp: tmp, Create: func(name string, perm fs.FileMode) (durable.File, error) {
		return s.create(name, perm)
	}}
	err := opts.WriteFile(target, data, s.filePerm)
	var step *durable.Error
	if !errors.As(err, &step) {
		return err
	}
	op := step.Op
	switch op {
	case "close", "chmod":
		op = "write"
	case "sync folder":
		op = "sync"
	}
	return diskFull(fmt.Errorf("store: %s %s: %w", step.Op, s.rel(step.Path), err), s.dir, op, s.rel(step.Path), lost)
}
