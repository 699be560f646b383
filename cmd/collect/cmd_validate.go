package main

import "github.com/collect-ediscovery/collect/config"

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

func runValidate(s *streams, args []string) int {
	opts, diags := ParseValidate(args)
	v := newValidateView(s, opts.JSON)
	if diags.HasErrors() {
		s.writeDiags(diags, nil)
		v.BadOptions(diags)
		return exitError
	}
	if opts.NoColor {
		s.color = false
	}
	m, files, diags := config.Load(".", config.LoadOptions{Vars: opts.Vars, Env: s.env})
	s.files = files
	s.writeDiags(diags, files)
	if diags.HasErrors() {
		m = nil
	}
	v.Result(m, diags)
	if m == nil {
		return exitError
	}
	return exitOK
}
