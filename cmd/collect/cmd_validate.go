package main

import (
	"fmt"

	"github.com/collect-ediscovery/collect/config"
)

const validateHelp = `Usage: collect [global options] validate [options]

  Checks the matter in the current folder (or -chdir=DIR) without signing
  in or contacting Microsoft 365: syntax, names, references, variables,
  dates, addresses and settings. Every problem is reported with its file,
  line and column.

Options:
  -json              Print the result as JSON (format_version 1.0), for CI.
  -var 'name=value'  Set a variable. Repeatable.
  -var-file=FILE     Set variables from an HCL file of name = value lines.
  -no-color          Do not color the output (NO_COLOR works too).

  Variables are also read from COLLECT_VAR_name. A -var or -var-file given
  later wins over one given earlier; both win over the environment.

Exit status: 0 when the matter is valid (warnings allowed), 1 otherwise.
`

// validateResult is the JSON shape of collect validate -json. Its fields
// and their meaning follow terraform validate -json.
type validateResult struct {
	FormatVersion string           `json:"format_version"`
	Valid         bool             `json:"valid"`
	ErrorCount    int              `json:"error_count"`
	WarningCount  int              `json:"warning_count"`
	Diagnostics   []jsonDiagnostic `json:"diagnostics"`
}

func runValidate(s *streams, args []string) int {
	opts, diags := ParseValidate(args)
	if diags.HasErrors() {
		s.writeDiags(diags, nil)
		return exitError
	}
	if opts.NoColor {
		s.color = false
	}
	m, files, diags := config.Load(".", config.LoadOptions{Vars: opts.Vars, Env: s.env})
	errs, warns := countDiags(diags)
	if opts.JSON {
		if err := writeJSON(s.stdout, validateResult{
			FormatVersion: "1.0",
			Valid:         errs == 0,
			ErrorCount:    errs,
			WarningCount:  warns,
			Diagnostics:   toJSONDiags(diags, files),
		}); err != nil {
			return exitError
		}
		if errs > 0 {
			return exitError
		}
		return exitOK
	}
	s.writeDiags(diags, files)
	if errs > 0 {
		fmt.Fprintf(s.stderr, "The matter is not valid: %s, %s.\n", plural(errs, "error", "errors"), plural(warns, "warning", "warnings"))
		return exitError
	}
	fmt.Fprintf(s.stdout, "Success! The matter %q is valid: %s, %s, %s.\n", m.Name,
		plural(len(m.Custodians), "custodian", "custodians"),
		plural(len(m.Mailboxes), "mailbox", "mailboxes"),
		plural(len(m.Windows), "window", "windows"))
	if m.Tenant.Demo() {
		fmt.Fprintln(s.stdout, "It targets the built-in DEMO tenant: simulated mail, not a Microsoft 365 tenant.")
	}
	return exitOK
}
