package main

import (
	"fmt"
	"io"

	"github.com/collect-ediscovery/collect/custody"
	"github.com/collect-ediscovery/collect/internal/jsondoc"
)

// custodyReport is the custody part of collect verify (-json "custody").
type custodyReport struct {
	custody.Report
	// Problems are the report's problems as one line each, "where: what".
	Problems []string `json:"problems"`
}

// custodyView shows what custody keygen made.
type custodyView interface {
	Keygen(file, verifier string)
}

func newCustodyView(s *streams, asJSON bool) custodyView {
	if asJSON {
		return &custodyJSON{s: s, diags: s.collectJSONDiags()}
	}
	return custodyHuman{s}
}

// keygenDoc is collect custody keygen -json.
type keygenDoc struct {
	KeyFile     string           `json:"key_file"`
	Verifier    string           `json:"verifier"`
	Diagnostics []jsonDiagnostic `json:"diagnostics"`
}

type custodyJSON struct {
	s     *streams
	diags *[]jsonDiagnostic
}

func (v *custodyJSON) Keygen(file, verifier string) {
	jsondoc.Write(v.s.stdout, keygenDoc{KeyFile: file, Verifier: verifier, Diagnostics: *v.diags})
}

type custodyHuman struct{ s *streams }

func (v custodyHuman) Keygen(file, verifier string) {
	fmt.Fprintf(v.s.stdout, "Wrote the private custody key to %s (mode 0600). Keep it secret and outside the matter folder;\n"+
		"give it to collect apply with COLLECT_CUSTODY_KEY_FILE=%s.\n\n", file, file)
	fmt.Fprintf(v.s.stdout, "Put the public verifier key in the matter:\n\ncustody {\n  verifier = %q\n}\n", verifier)
}

// writeCustody renders the custody part of a verify report for a person.
func writeCustody(w io.Writer, c *custodyReport) {
	for _, p := range c.Problems {
		fmt.Fprintf(w, "Custody problem: %s\n", p)
	}
	for _, n := range c.NotChecked {
		fmt.Fprintf(w, "Not checked: %s.\n", n)
	}
	if c.Latest != nil {
		signed := "unsigned"
		if c.Latest.Signed {
			signed = "signed"
		}
		fmt.Fprintf(w, "Latest checkpoint: %s (%s), %s, %s, root %s.\n", c.Latest.File, signed, c.Latest.Origin,
			plural(int(c.Latest.Size), "line", "lines"), c.Latest.Root)
	}
	if c.OK() {
		sig := "signatures not checked"
		if c.Verifier != "" {
			sig = fmt.Sprintf("every signature verifies with %s", c.Verifier)
		}
		fmt.Fprintf(w, "Custody verified: %s included in the latest checkpoint, %s, each a consistent extension of the one before; %s.\n",
			plural(int(c.Included), "manifest line", "manifest lines"), plural(c.Checkpoints, "checkpoint", "checkpoints"), sig)
		return
	}
	fmt.Fprintf(w, "Custody verification FAILED: %s.\n", plural(len(c.Problems), "problem", "problems"))
}
