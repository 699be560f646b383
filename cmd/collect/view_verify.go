package main

import (
	"fmt"

	"github.com/collect-ediscovery/collect/internal/jsondoc"
	"github.com/collect-ediscovery/collect/store"
)

// verifyView shows what verify found; Failed when it could not look.
type verifyView interface {
	Report(r verifyReport)
	Failed()
}

func newVerifyView(s *streams, asJSON bool) verifyView {
	if asJSON {
		return &verifyJSON{s: s, diags: s.collectJSONDiags()}
	}
	return verifyHuman{s}
}

type verifyHuman struct{ s *streams }

func (v verifyHuman) Report(out verifyReport) {
	s := v.s
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
			plural(out.NewerLines, "newer manifest line", "newer manifest lines"), plural(out.PendingLines, "line", "lines"),
			plural(len(out.Unrecorded), "native", "natives"), plural(out.InFlight, "partial file", "partial files"))
	}
	if out.Custody != nil {
		writeCustody(s.stdout, out.Custody)
	}
	if out.CustodyOnly {
		if len(out.Missing)+len(out.Changed)+len(out.Unexpected)+len(out.State) == 0 {
			fmt.Fprintf(s.stdout, "Natives verified: %s (%s) match the manifest.\n", plural(out.Natives, "native", "natives"), byteSize(out.Bytes))
		} else {
			fmt.Fprintf(s.stdout, "Natives FAILED: %s missing, %s changed, %s unexpected.\n",
				commas(int64(len(out.Missing))), commas(int64(len(out.Changed))), commas(int64(len(out.Unexpected))))
		}
		return
	}
	if out.OK {
		fmt.Fprintf(s.stdout, "Verified: %s and %s (%s) match the state and the manifest.\n",
			plural(out.Items, "item", "items"), plural(out.Natives, "native", "natives"), byteSize(out.Bytes))
		return
	}
	custodyProblems := 0
	if out.Custody != nil {
		custodyProblems = len(out.Custody.Problems)
	}
	fmt.Fprintf(s.stdout, "Verification FAILED: %s missing, %s changed, %s unexpected, %s manifest problems, %s custody problems.\n",
		commas(int64(len(out.Missing))), commas(int64(len(out.Changed))), commas(int64(len(out.Unexpected))),
		commas(int64(len(out.Manifest)+len(out.State))), commas(int64(custodyProblems)))
}

func (verifyHuman) Failed() {}

// verifyDoc is collect verify -json.
type verifyDoc struct {
	verifyReport
	Diagnostics []jsonDiagnostic `json:"diagnostics"`
}

type verifyJSON struct {
	s     *streams
	diags *[]jsonDiagnostic
}

func (v *verifyJSON) Report(r verifyReport) {
	jsondoc.Write(v.s.stdout, verifyDoc{verifyReport: r, Diagnostics: *v.diags})
}

func (v *verifyJSON) Failed() {
	empty := []string{}
	v.Report(verifyReport{Missing: empty, Changed: empty, Unexpected: empty, LeftoverTemps: empty, Manifest: empty, State: empty})
}
