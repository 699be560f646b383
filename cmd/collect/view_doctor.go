package main

import (
	"fmt"

	"github.com/collect-ediscovery/collect/internal/jsondoc"
)

// doctorView shows doctor's checks. Report is called once with the
// checks made, or Failed when none could be (the diagnostics say why).
type doctorView interface {
	Demo()
	Report(rep *doctorReport)
	Failed()
}

func newDoctorView(s *streams, asJSON bool) doctorView {
	if asJSON {
		return &doctorJSON{s: s, diags: s.collectJSONDiags()}
	}
	return doctorHuman{s}
}

type doctorHuman struct{ s *streams }

func (v doctorHuman) Demo()   { fmt.Fprintln(v.s.stdout, demoBanner) }
func (v doctorHuman) Failed() {}

func (v doctorHuman) Report(rep *doctorReport) {
	s := v.s
	fails, warns := 0, 0
	for _, c := range rep.Checks {
		switch c.Status {
		case statusFail:
			fails++
		case statusWarn:
			warns++
		}
		subject := c.Check
		if c.Address != "" {
			subject = c.Address
		}
		fmt.Fprintf(s.stdout, "%-4s  %s: %s\n", c.Status, subject, c.Message)
		if c.Fix != "" {
			fmt.Fprintf(s.stdout, "      fix: %s\n", c.Fix)
		}
	}
	fmt.Fprintln(s.stdout)
	switch {
	case fails > 0:
		fmt.Fprintf(s.stdout, "%d of %d checks failed. Fix them, then run collect doctor again.\n", fails, len(rep.Checks))
	case warns > 0:
		fmt.Fprintf(s.stdout, "All checks passed, with %d warning(s).\n", warns)
	default:
		fmt.Fprintln(s.stdout, "All checks passed.")
	}
}

// doctorDoc is collect doctor -json.
type doctorDoc struct {
	doctorReport
	Diagnostics []jsonDiagnostic `json:"diagnostics"`
}

type doctorJSON struct {
	s     *streams
	diags *[]jsonDiagnostic
}

func (v *doctorJSON) Demo() {}

func (v *doctorJSON) Report(rep *doctorReport) {
	if rep.Checks == nil {
		rep.Checks = []doctorCheck{}
	}
	jsondoc.Write(v.s.stdout, doctorDoc{doctorReport: *rep, Diagnostics: *v.diags})
}

func (v *doctorJSON) Failed() { v.Report(&doctorReport{}) }
