package main

import (
	"fmt"

	"github.com/collect-ediscovery/collect/config"
	"github.com/collect-ediscovery/collect/internal/jsondoc"
	"github.com/hashicorp/hcl/v2"
)

// validateView shows the outcome of collect validate. Its diagnostics have
// gone through the streams already; Result is called once, with a nil
// matter when it is not valid.
type validateView interface {
	Result(m *config.Matter, diags hcl.Diagnostics)
	// BadOptions ends a run whose command line could not be parsed.
	BadOptions(diags hcl.Diagnostics)
}

func newValidateView(s *streams, asJSON bool) validateView {
	if asJSON {
		return &validateJSON{s: s, diags: s.collectJSONDiags()}
	}
	return &validateHuman{s: s}
}

type validateHuman struct{ s *streams }

func (validateHuman) BadOptions(hcl.Diagnostics) {}

func (v *validateHuman) Result(m *config.Matter, diags hcl.Diagnostics) {
	s := v.s
	if m == nil {
		errs, warns := countDiags(diags)
		fmt.Fprintf(s.stderr, "The matter is not valid: %s, %s.\n", plural(errs, "error", "errors"), plural(warns, "warning", "warnings"))
		return
	}
	fmt.Fprintf(s.stdout, "Success! The matter %q is valid: %s, %s, %s.\n", m.Name,
		plural(len(m.Custodians), "custodian", "custodians"),
		plural(len(m.Mailboxes), "mailbox", "mailboxes"),
		plural(len(m.Windows), "window", "windows"))
	if m.Tenant.Demo() {
		fmt.Fprintln(s.stdout, "It targets the built-in DEMO tenant: simulated mail, not a Microsoft 365 tenant.")
	}
}

// validateDoc is collect validate -json: the fields and meanings of
// terraform validate -json.
type validateDoc struct {
	Valid        bool             `json:"valid"`
	ErrorCount   int              `json:"error_count"`
	WarningCount int              `json:"warning_count"`
	Diagnostics  []jsonDiagnostic `json:"diagnostics"`
}

type validateJSON struct {
	s     *streams
	diags *[]jsonDiagnostic
}

func (v *validateJSON) BadOptions(diags hcl.Diagnostics) { v.Result(nil, diags) }

func (v *validateJSON) Result(m *config.Matter, diags hcl.Diagnostics) {
	errs, warns := countDiags(diags)
	jsondoc.Write(v.s.stdout, validateDoc{Valid: m != nil && errs == 0, ErrorCount: errs, WarningCount: warns, Diagnostics: *v.diags})
}
