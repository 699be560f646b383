package export

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/state"
)

// readJSONL reads a JSON lines load file into records keyed by column.
func readJSONL(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, line := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// TestExportCorpusCollection collects the shared corpus of real mail
// through the demo tenant and exports it: every one of the 217 messages
// has its record, whatever it holds.
func TestExportCorpusCollection(t *testing.T) {
	dir := findCorpus(t)
	c := newCollection(t, `matter "corpus" {}
tenant {
  cloud = "demo"
}
mailbox "legal" {
  address = "legal@demo.collect.invalid"
  type    = "shared"
}
`, dir)
	c.apply()
	res := c.export(filepath.Join(t.TempDir(), "exports"), Options{Format: "jsonl"})
	recs := readJSONL(t, filepath.Join(res.Dir, res.Volume.LoadFile))
	fixtures, withErrors := 0, 0
	for _, r := range recs {
		if r["FOLDER_PATH"] == "Inbox/Fixtures" && r["PARENT_DOCID"] == "" {
			fixtures++
		}
		if len(r["PARSE_ERRORS"].([]any)) > 0 {
			withErrors++
		}
	}
	if fixtures != 217 {
		t.Errorf("%d fixture messages exported, want 217", fixtures)
	}
	if withErrors == 0 || withErrors == len(recs) {
		t.Errorf("%d of %d records with parse errors", withErrors, len(recs))
	}
	t.Logf("%d records, %d with parse errors, %d messages", len(recs), withErrors, res.Volume.Messages)
}

// TestExportNeverStops: a message that is not MIME at all and a native
// missing from the output folder each still get their record, with
// PARSE_ERRORS saying why, and the rest of the volume is written.
func TestExportNeverStops(t *testing.T) {
	c := newCollection(t, demoMatter, "")
	at := time.Date(2024, 2, 7, 9, 0, 0, 0, time.UTC)
	c.deliver("jane.doe"+demoDomain, []byte("\x00\xff\xfe not a message\r\n\r\n--\r\n"), at)
	c.apply()
	var victim string
	db := c.db()
	if err := db.View(func(r *state.ReadTx) error {
		return r.ItemsSince(0, func(it state.Item) error {
			if victim == "" {
				victim = it.Native
			}
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := os.Remove(filepath.Join(c.m.Output.Path, filepath.FromSlash(victim))); err != nil {
		t.Fatal(err)
	}
	res := c.export(filepath.Join(t.TempDir(), "exports"), Options{Format: "jsonl"})
	recs := readJSONL(t, filepath.Join(res.Dir, res.Volume.LoadFile))
	var missing, garbage bool
	for _, r := range recs {
		errs := strings.Join(toStrings(r["PARSE_ERRORS"]), ";")
		if strings.Contains(errs, "could not be read") && r["NATIVE_PATH"] == "" {
			missing = true
		}
		if strings.Contains(errs, "header lines are not fields") {
			garbage = true
		}
	}
	if !missing || !garbage {
		t.Errorf("records for the missing native: %v, for the message that is not MIME: %v", missing, garbage)
	}
	if res.Volume.Messages < 10 || res.WithErrors < 2 {
		t.Errorf("%d messages, %d records with parse errors", res.Volume.Messages, res.WithErrors)
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestLargeNativesStreamTheSame exports the golden collection with every
// native above the large-message size, so that each is read as a stream:
// the load file is the same, byte for byte.
func TestLargeNativesStreamTheSame(t *testing.T) {
	c := demoCollection(t)
	res := c.export(filepath.Join(t.TempDir(), "exports"), Options{Format: "dat", LargeNative: 1})
	got, err := os.ReadFile(filepath.Join(res.Dir, res.Volume.LoadFile))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("testdata", "golden", "relativity.dat"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("streamed export differs from the golden:\n%s", firstDiff(got, want))
	}
}

// TestExportOptions: the matter's dedupe scope, renames and drops, and a
// volume left half written by an interrupted export, which the next one
// removes.
func TestExportOptions(t *testing.T) {
	c := demoCollection(t)
	out := filepath.Join(t.TempDir(), "exports")
	partial := filepath.Join(out, partialPrefix+"left")
	if err := os.MkdirAll(filepath.Join(partial, "attachments"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(partial, "attachments", "x"), []byte("x"), 0o400); err != nil {
		t.Fatal(err)
	}
	dups := func(res *Result) []string {
		var out []string
		for _, r := range readJSONL(t, filepath.Join(res.Dir, res.Volume.LoadFile)) {
			if d, _ := r["DUPLICATE_OF"].(string); d != "" {
				out = append(out, r["DOCID"].(string)+"="+d)
			}
		}
		return out
	}
	c.m.Export.Dedupe = "none"
	if got := dups(c.export(out, Options{Format: "jsonl"})); len(got) != 0 {
		t.Errorf("dedupe none flagged %v", got)
	}
	if _, err := os.Stat(partial); !os.IsNotExist(err) {
		t.Errorf("the half-written volume is still there: %v", err)
	}
	c.m.Export.Dedupe = "custodian"
	if got := dups(c.export(out, Options{Format: "jsonl"})); len(got) != 0 {
		t.Errorf("dedupe custodian flagged %v across custodians", got)
	}
	c.m.Export.Dedupe = "global"
	if got := dups(c.export(out, Options{Format: "jsonl"})); strings.Join(got, ",") != "ACME00000028=ACME00000014" {
		t.Errorf("dedupe global flagged %v", got)
	}
	c.m.Export.Rename = map[string]string{"SUBJECT": "EMAIL_SUBJECT"}
	c.m.Export.Drop = []string{"BCC", "GRAPH_ID"}
	res := c.export(out, Options{Format: "jsonl"})
	rec := readJSONL(t, filepath.Join(res.Dir, res.Volume.LoadFile))[0]
	_, subject := rec["EMAIL_SUBJECT"]
	_, bcc := rec["BCC"]
	_, old := rec["SUBJECT"]
	if !subject || bcc || old || len(rec) != 40 {
		t.Errorf("columns after rename and drop: %d, EMAIL_SUBJECT %v, SUBJECT %v, BCC %v", len(rec), subject, old, bcc)
	}
}

// TestExportRefusesAnotherStatesVolumes: volumes numbered by another
// state (as after the state was rebuilt or replaced) make export refuse,
// rather than give their control numbers again.
func TestExportRefusesAnotherStatesVolumes(t *testing.T) {
	out := filepath.Join(t.TempDir(), "exports")
	first := newCollection(t, demoMatter, "")
	first.apply()
	res := first.export(out, Options{})
	other := newCollection(t, demoMatter, "")
	other.apply()
	db := other.db()
	defer db.Close()
	_, err := Export(t.Context(), other.m, db, Options{Out: out})
	if err == nil || !strings.Contains(err.Error(), "gave control numbers up to "+res.Volume.LastDOCID) {
		t.Fatalf("export over another state's volumes: %v", err)
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 1 {
		t.Errorf("the exports folder holds %d entries after the refusal, want the one volume", len(entries))
	}
}
