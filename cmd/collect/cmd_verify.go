package main

import (
	"context"
	"fmt"

	"github.com/collect-ediscovery/collect/apply"
	"github.com/collect-ediscovery/collect/state"
	"github.com/collect-ediscovery/collect/store"
)

const verifyHelp = `Usage: collect [global options] verify [options]

  Re-hashes every native in the output folder and checks it against the
  state and the manifest. Reports natives that are missing, changed or
  unexpected, and manifest lines that disagree with the state. Reads only.

Options:
  -json              Print the report as JSON.
  -var 'name=value'  Set a variable. Repeatable.
  -var-file=FILE     Set variables from a file.
  -lock-timeout=D    Wait up to D for the state lock (default 0: fail at once).

Exit status: 0 when everything verifies, 7 when something does not, 1 on error.
`

type verifyReport struct {
	FormatVersion string   `json:"format_version"`
	OK            bool     `json:"ok"`
	Items         int      `json:"items"`
	Natives       int      `json:"natives"`
	Verified      int      `json:"verified"`
	Bytes         int64    `json:"bytes"`
	Missing       []string `json:"missing"`
	Changed       []string `json:"changed"`
	Unexpected    []string `json:"unexpected"`
	LeftoverTemps []string `json:"leftover_temps"`
	Manifest      []string `json:"manifest"`
	State         []string `json:"state"`
	// Set when an apply was running: what it did after its snapshot.
	ApplyRunning bool     `json:"apply_running,omitempty"`
	NewerLines   int      `json:"newer_lines,omitempty"`
	PendingLines int      `json:"pending_lines,omitempty"`
	Unrecorded   []string `json:"unrecorded,omitempty"`
	InFlight     int      `json:"in_flight,omitempty"`
}

func runVerify(s *streams, args []string) int {
	opts, diags := ParseVerify(args)
	if diags.HasErrors() {
		s.writeDiags(diags, nil)
		return exitError
	}
	m := loadMatter(s, opts.Vars)
	if m == nil {
		return exitError
	}
	db, code := openStateToRead(s, m, opts.LockTimeout, "verify")
	if db == nil {
		return code
	}
	defer db.Close()
	if !stateMatchesOutput(s, m, db) {
		return exitError
	}
	var rep store.Report
	err := db.View(func(r *state.ReadTx) error {
		var iterErr error
		var err error
		rep, err = store.Verify(context.Background(), m.Output.Path, apply.Expected(r, &iterErr), store.VerifyOptions{Running: db.Writer() != nil})
		if err != nil {
			return err
		}
		return iterErr
	})
	if err != nil {
		s.errorf("Cannot verify", "%s", sentence(err.Error()))
		return exitError
	}
	out := verifyReport{
		FormatVersion: "1", OK: rep.OK(), Items: rep.Items, Natives: rep.Natives, Verified: rep.Verified, Bytes: rep.Bytes,
		Missing: nonNil(rep.Missing), Unexpected: nonNil(rep.Unexpected), LeftoverTemps: nonNil(rep.LeftoverTemps),
		State: nonNil(rep.State), Changed: []string{}, Manifest: []string{},
		ApplyRunning: db.Writer() != nil, NewerLines: rep.Newer, PendingLines: rep.Pending, Unrecorded: rep.Unrecorded, InFlight: rep.InFlight,
	}
	for _, c := range rep.Changed {
		out.Changed = append(out.Changed, c.String())
	}
	for _, p := range rep.Manifest {
		out.Manifest = append(out.Manifest, p.String())
	}
	if opts.JSON {
		writeJSON(s.stdout, out)
	} else {
		for _, group := range []struct {
			title string
			lines []string
		}{
			{"Missing native", out.Missing}, {"Changed native", out.Changed}, {"Unexpected file", out.Unexpected},
			{"Manifest problem", out.Manifest}, {"State problem", out.State},
		} {
			for _, l := range group.lines {
				fmt.Fprintf(s.stdout, "%s: %s\n", group.title, l)
			}
		}
		if n := len(out.LeftoverTemps); n > 0 {
			fmt.Fprintf(s.stdout, "Leftover: %s in %s left by an interrupted apply (not evidence; -json lists them): "+
				"collect apply removes them when it starts.\n", plural(n, "partial file", "partial files"), store.TempDir)
		}
		if out.ApplyRunning {
			fmt.Fprintf(s.stdout, "Apply running: checked as of its last snapshot; since then %s checked against their natives, "+
				"%s to be appended, %s not recorded yet and %s being written. Run collect verify again when it finishes.\n",
				plural(rep.Newer, "newer manifest line", "newer manifest lines"), plural(rep.Pending, "line", "lines"),
				plural(len(rep.Unrecorded), "native", "natives"), plural(rep.InFlight, "partial file", "partial files"))
		}
		if rep.OK() {
			fmt.Fprintf(s.stdout, "Verified: %s and %s (%s) match the state and the manifest.\n",
				plural(rep.Items, "item", "items"), plural(rep.Natives, "native", "natives"), byteSize(rep.Bytes))
		} else {
			fmt.Fprintf(s.stdout, "Verification FAILED: %s missing, %s changed, %s unexpected, %s manifest problems.\n",
				commas(int64(len(out.Missing))), commas(int64(len(out.Changed))), commas(int64(len(out.Unexpected))),
				commas(int64(len(out.Manifest)+len(out.State))))
		}
	}
	if !rep.OK() {
		return exitVerify
	}
	return exitOK
}

func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}
