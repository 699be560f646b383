package store_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/internal/record"
	"github.com/collect-ediscovery/collect/store"
)

func TestWriteRun(t *testing.T) {
	s, dir := openStore(t, store.Options{})
	est := time.FixedZone("EST", -5*3600)
	run := record.Run{
		RunID: "2026-11-26T220000Z-7f3a", Operation: "apply", User: "analyst", Host: "ws-17",
		Started: time.Date(2026, 11, 26, 17, 0, 0, 0, est), ToolVersion: "0.1.0",
		MatterHash: "sha256:abcd", MatterGitCommit: "0123456789abcdef0123456789abcdef01234567",
		Counts: record.Counts{Planned: 10, Collected: 8, Deduplicated: 1, Failed: 1, Bytes: 4096},
		Failures: []record.Failure{{Mailbox: "jane.doe@contoso.com", GraphID: "AAMk1", Code: "ErrorItemNotFound",
			Message: "the item was deleted before it could be fetched", RequestID: "req-1"}},
	}
	if err := s.WriteRun(run); err != nil {
		t.Fatal(err)
	}
	run.Finished = run.Started.Add(time.Hour)
	run.Complete, run.Status = true, record.StatusComplete
	run.ThrottledSeconds = 12.5
	if err := s.WriteRun(run); err != nil {
		t.Fatal(err)
	}
	got, err := s.ReadRun(run.RunID)
	if err != nil {
		t.Fatal(err)
	}
	want := run
	want.Started, want.Finished = run.Started.UTC(), run.Finished.UTC()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("read back %+v\nwant %+v", got, want)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "runs", run.RunID+".json"))
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		t.Fatal(err)
	}
	if fields["started"] != "2026-11-26T22:00:00Z" || fields["complete"] != true || fields["matter_git_commit"] == nil {
		t.Fatalf("record %s", raw)
	}
	if files := treeFiles(t, filepath.Join(dir, "runs")); !slices.Equal(files, []string{run.RunID + ".json"}) {
		t.Fatalf("runs folder: %v", files)
	}
	// An empty failure list is written as [] and optional fields are left out.
	if err := s.WriteRun(record.Run{RunID: "r2", Started: run.Started}); err != nil {
		t.Fatal(err)
	}
	raw, _ = os.ReadFile(filepath.Join(dir, "runs", "r2.json"))
	fields = nil
	json.Unmarshal(raw, &fields)
	if f, ok := fields["failures"].([]any); !ok || len(f) != 0 {
		t.Fatalf("failures in %s", raw)
	}
	for _, k := range []string{"matter_git_commit", "plan_hash", "finished"} {
		if _, ok := fields[k]; ok {
			t.Errorf("%s present in %s", k, raw)
		}
	}
}

// A runs/<id>.json written before records had a status, an error and the
// newer counts still reads, with the status it implies.
func TestReadRunWrittenByAnEarlierVersion(t *testing.T) {
	s, dir := openStore(t, store.Options{})
	old := `{
  "run_id": "20260101T120000Z-1a2b3c4d",
  "operation": "apply",
  "user": "analyst",
  "host": "ws-17",
  "started": "2026-01-01T12:00:00Z",
  "finished": "2026-01-01T12:05:00Z",
  "tool_version": "0.1.0",
  "matter_hash": "sha256:abcd",
  "counts": {"planned": 3, "collected": 2, "deduplicated": 0, "tombstoned": 0, "failed": 1, "bytes": 900},
  "throttled_seconds": 1.5,
  "failures": [{"mailbox": "a@contoso.com", "code": "run stopped", "message": "disk full"}],
  "complete": false
}
`
	if err := os.MkdirAll(filepath.Join(dir, "runs"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "runs", "20260101T120000Z-1a2b3c4d.json"), []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := s.ReadRun("20260101T120000Z-1a2b3c4d")
	if err != nil {
		t.Fatal(err)
	}
	want := record.Run{
		RunID: "20260101T120000Z-1a2b3c4d", Operation: "apply", Status: record.StatusIncomplete,
		User: "analyst", Host: "ws-17", ToolVersion: "0.1.0", MatterHash: "sha256:abcd",
		Started: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC), Finished: time.Date(2026, 1, 1, 12, 5, 0, 0, time.UTC),
		Counts:           record.Counts{Planned: 3, Collected: 2, Failed: 1, Bytes: 900},
		ThrottledSeconds: 1.5,
		Failures:         []record.Failure{{Mailbox: "a@contoso.com", Code: "run stopped", Message: "disk full"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("read %+v\nwant %+v", got, want)
	}
}

func TestWriteRunRejectsUnsafeIDs(t *testing.T) {
	s, dir := openStore(t, store.Options{})
	for _, id := range []string{"", "../escape", ".hidden", "a/b", "a\\b", "run id"} {
		if err := s.WriteRun(record.Run{RunID: id}); err == nil {
			t.Errorf("run id %q accepted", id)
		}
	}
	if files := treeFiles(t, dir); len(files) != 0 {
		t.Fatalf("files written: %v", files)
	}
}

func TestWriteRunRedactsSecrets(t *testing.T) {
	s, dir := openStore(t, store.Options{})
	jwt := "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2dyYXBoIn0.c2lnbmF0dXJlLWJ5dGVz"
	run := record.Run{RunID: "r1", Failures: []record.Failure{{
		Mailbox: "jane.doe@contoso.com",
		Code:    "InvalidAuthenticationToken",
		Message: "GET /v1.0/users/x/messages failed; Authorization: Bearer " + jwt + " rejected; Bearer abc=defghijkl; retry with client_secret=s3cr3t~value&grant_type=client_credentials",
	}}}
	if err := s.WriteRun(run); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "runs", "r1.json"))
	for _, secret := range []string{"eyJ0eXAi", "c2lnbmF0dXJl", "s3cr3t", "abc=", "defghijkl"} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("run record holds %q:\n%s", secret, raw)
		}
	}
	for _, kept := range []string{"InvalidAuthenticationToken", "client_secret=[REDACTED]", "grant_type=client_credentials", "GET /v1.0/users/x/messages failed"} {
		if !strings.Contains(string(raw), kept) {
			t.Errorf("run record lost %q:\n%s", kept, raw)
		}
	}
	if !strings.Contains(run.Failures[0].Message, jwt) {
		t.Error("WriteRun changed the caller's record")
	}
}
