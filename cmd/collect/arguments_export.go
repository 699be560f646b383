package main

import (
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/collect-ediscovery/collect/config"
	"github.com/hashicorp/hcl/v2"
)

// Export holds the options of collect export.
type Export struct {
	Format      string
	Profile     string
	Run         string
	Since       string
	Out         string
	JSON        bool
	Vars        []config.VarOption
	LockTimeout time.Duration
}

func ParseExport(args []string) (Export, hcl.Diagnostics) {
	var e Export
	fs := newFlagSet("export")
	fs.StringVar(&e.Format, "format", "", "")
	fs.StringVar(&e.Profile, "profile", "", "")
	fs.StringVar(&e.Run, "run", "", "")
	fs.StringVar(&e.Since, "since", "", "")
	fs.StringVar(&e.Out, "out", "", "")
	fs.BoolVar(&e.JSON, "json", false, "")
	addVarFlags(fs, &e.Vars)
	fs.DurationVar(&e.LockTimeout, "lock-timeout", 0, "")
	diags := parseFlags(fs, args)
	if len(fs.Args()) > 0 {
		diags = append(diags, tooManyArgs("export", fs.Args(), "Use -chdir=DIR to export another matter.")...)
	}
	diags = append(diags, oneOfFlag(fs, "format", e.Format, config.ExportFormats)...)
	diags = append(diags, oneOfFlag(fs, "profile", e.Profile, config.ExportProfiles)...)
	for _, name := range []string{"run", "since", "out"} {
		if isSet(fs, name) && strings.TrimSpace(fs.Lookup(name).Value.String()) == "" {
			diags = append(diags, errorDiag("Invalid -"+name+" option", exportValueHint[name])...)
		}
	}
	if e.Run != "" && e.Since != "" {
		diags = append(diags, errorDiag("Options -run and -since together",
			"-run=RUN exports what one run collected and -since=RUN what later runs collected: choose one.")...)
	}
	return e, append(diags, checkCommon(1, e.LockTimeout)...)
}

var exportValueHint = map[string]string{
	"run":   "The -run option needs a run ID, as collect show lists them: -run=RUN.",
	"since": "The -since option needs a run ID, as collect show lists them: -since=RUN.",
	"out":   "The -out option needs a folder: -out=DIR.",
}

// oneOfFlag checks a flag's value against a closed list, when it is set.
func oneOfFlag(fs *flag.FlagSet, name, v string, allowed []string) hcl.Diagnostics {
	if !isSet(fs, name) || slices.Contains(allowed, v) {
		return nil
	}
	detail := fmt.Sprintf("The -%s option must be one of %s, not %q.", name, strings.Join(allowed, ", "), v)
	if s := suggestName(v, allowed); s != "" {
		detail += fmt.Sprintf(" Did you mean -%s=%s?", name, s)
	}
	return errorDiag("Invalid -"+name+" option", detail)
}
