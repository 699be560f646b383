package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/collect-ediscovery/collect/internal/record"
	"github.com/collect-ediscovery/collect/state"
	"github.com/rogpeppe/go-internal/testscript"
)

// lastRunCmd sets an environment variable to the ID of the state's latest
// run, so that a script can name it in -run and -since:
//
//	lastrun VAR [STATEFILE]
func lastRunCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: lastrun VAR [STATEFILE]")
	}
	path := "collect.state"
	if len(args) == 2 {
		path = args[1]
	}
	db, err := state.Open(ts.MkAbs(path), state.Options{ReadOnly: true})
	ts.Check(err)
	defer db.Close()
	last := ""
	ts.Check(db.View(func(r *state.ReadTx) error {
		return r.Runs(func(run record.Run) error { last = run.RunID; return nil })
	}))
	if last == "" {
		ts.Fatalf("lastrun: the state records no run")
	}
	ts.Setenv(args[0], last)
}

// exportRecord is what exportCheckCmd reads of a load file row.
type exportRecord struct{ docid, graphID, runID string }

// readLoadFile reads the DOCID, GRAPH_ID and RUN_ID columns of a DAT, CSV
// or JSON lines load file written with the default field names.
func readLoadFile(path string) ([]exportRecord, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []exportRecord
	if strings.HasSuffix(path, ".jsonl") {
		for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
			var m map[string]any
			if err := json.Unmarshal(line, &m); err != nil {
				return nil, err
			}
			out = append(out, exportRecord{m["DOCID"].(string), m["GRAPH_ID"].(string), m["RUN_ID"].(string)})
		}
		return out, nil
	}
	var rows [][]string
	body := strings.TrimPrefix(string(data), "\ufeff")
	if strings.HasSuffix(path, ".csv") {
		if rows, err = csv.NewReader(strings.NewReader(body)).ReadAll(); err != nil {
			return nil, err
		}
	} else {
		for _, row := range strings.Split(strings.TrimSuffix(body, "\r\n"), "\r\n") {
			fields := strings.Split(row, "\x14")
			for j := range fields {
				fields[j] = strings.TrimSuffix(strings.TrimPrefix(fields[j], "\u00fe"), "\u00fe")
			}
			rows = append(rows, fields)
		}
	}
	var cols map[string]int
	for i, fields := range rows {
		if i == 0 {
			cols = map[string]int{}
			for j, f := range fields {
				cols[f] = j
			}
			continue
		}
		out = append(out, exportRecord{fields[cols["DOCID"]], fields[cols["GRAPH_ID"]], fields[cols["RUN_ID"]]})
	}
	return out, nil
}

// exportCheckCmd checks the volumes in an exports folder against each
// other, in order: a record (a message, or the n-th child of one) keeps
// its DOCID in every volume; no DOCID names two records; the DOCIDs a
// volume gives for the first time all come after every earlier one.
// With RUN, the last volume must hold only records of that run. It prints
// one line per volume: its name, records, and new DOCIDs.
//
//	exportcheck DIR [RUN]
func exportCheckCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: exportcheck DIR [RUN]")
	}
	dir := ts.MkAbs(args[0])
	vols, err := filepath.Glob(filepath.Join(dir, "VOL*"))
	ts.Check(err)
	sort.Strings(vols)
	if len(vols) == 0 {
		ts.Fatalf("exportcheck: no volume in %s", dir)
	}
	byKey, byDocID := map[string]string{}, map[string]string{}
	highest := ""
	for i, vol := range vols {
		files, _ := filepath.Glob(filepath.Join(vol, filepath.Base(vol)+".*"))
		if len(files) != 1 {
			ts.Fatalf("exportcheck: %s holds %d load files", vol, len(files))
		}
		recs, err := readLoadFile(files[0])
		ts.Check(err)
		fresh, top, n := 0, "", 0
		newHigh := highest
		for _, r := range recs {
			if r.graphID != "" {
				top, n = r.graphID, 0
			} else {
				n++
			}
			key := fmt.Sprintf("%s/%d", top, n)
			if prev, ok := byKey[key]; ok && prev != r.docid {
				ts.Fatalf("exportcheck: %s numbers %s as %s, an earlier volume as %s", filepath.Base(vol), key, r.docid, prev)
			}
			if prev, ok := byDocID[r.docid]; ok && prev != key {
				ts.Fatalf("exportcheck: %s is used for two records (%s and %s)", r.docid, prev, key)
			}
			if _, ok := byKey[key]; !ok {
				fresh++
				if r.docid <= highest {
					ts.Fatalf("exportcheck: %s gives %s, not after the earlier highest %s", filepath.Base(vol), r.docid, highest)
				}
				newHigh = max(newHigh, r.docid)
			}
			byKey[key], byDocID[r.docid] = r.docid, key
			if len(args) == 2 && i == len(vols)-1 && r.runID != args[1] {
				ts.Fatalf("exportcheck: %s holds %s of run %s, want only run %s", filepath.Base(vol), r.docid, r.runID, args[1])
			}
		}
		highest = newHigh
		fmt.Fprintf(ts.Stdout(), "%s: %d records, %d new\n", filepath.Base(vol), len(recs), fresh)
	}
}
