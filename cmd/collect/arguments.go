package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/collect-ediscovery/collect/config"
	"github.com/hashicorp/hcl/v2"
)

// Parsing the command line is a pure function per command: it takes the
// arguments and returns a struct and diagnostics, so each is table-tested
// without running anything.

// Global holds the options that come before the command name.
type Global struct {
	Chdir   string
	Help    bool
	Version bool
	Command string
	Args    []string
}

// ParseGlobal splits the command line into global options, the command
// and its arguments.
func ParseGlobal(args []string) (Global, hcl.Diagnostics) {
	var g Global
	fs := newFlagSet("collect")
	fs.StringVar(&g.Chdir, "chdir", "", "")
	fs.BoolVar(&g.Help, "help", false, "")
	fs.BoolVar(&g.Help, "h", false, "")
	fs.BoolVar(&g.Version, "version", false, "")
	if diags := parseFlags(fs, args); diags.HasErrors() {
		return g, diags
	}
	rest := fs.Args()
	if len(rest) > 0 {
		g.Command, g.Args = rest[0], rest[1:]
	}
	if g.Chdir == "" && isSet(fs, "chdir") {
		return g, errorDiag("Invalid -chdir option", "The -chdir option needs a folder: -chdir=DIR.")
	}
	return g, nil
}

func addVarFlags(fs *flag.FlagSet, into *[]config.VarOption) {
	fs.Func("var", "", func(s string) error {
		if !strings.Contains(s, "=") {
			return fmt.Errorf("the -var option %q is not name=value; write it as -var 'name=value'", s)
		}
		*into = append(*into, config.VarOption{Assignment: s})
		return nil
	})
	fs.Func("var-file", "", func(s string) error {
		if s == "" {
			return errors.New("the -var-file option needs a file name")
		}
		*into = append(*into, config.VarOption{File: s})
		return nil
	})
	// Where the collection lives goes with the variables: every command
	// that reads the matter reads its backend too.
	fs.Func("backend-config", "", func(s string) error {
		if !strings.Contains(s, "=") {
			return fmt.Errorf("the -backend-config option %q is not key=value; write it as -backend-config=container=evidence", s)
		}
		*into = append(*into, config.VarOption{BackendConfig: s})
		return nil
	})
	fs.Func("shard", "", func(s string) error {
		if _, err := config.ParseShard(s); err != nil {
			return err
		}
		*into = append(*into, config.VarOption{Shard: s})
		return nil
	})
}

// Validate holds the options of collect validate.
type Validate struct {
	JSON    bool
	NoColor bool
	Vars    []config.VarOption
}

func ParseValidate(args []string) (Validate, hcl.Diagnostics) {
	var v Validate
	fs := newFlagSet("validate")
	fs.BoolVar(&v.JSON, "json", false, "")
	fs.BoolVar(&v.NoColor, "no-color", false, "")
	addVarFlags(fs, &v.Vars)
	diags := parseFlags(fs, args)
	if len(fs.Args()) > 0 {
		diags = append(diags, tooManyArgs("validate", fs.Args(), "Use -chdir=DIR to validate another folder.")...)
	}
	return v, diags
}

// Fmt holds the options of collect fmt.
type Fmt struct {
	Check     bool
	Diff      bool
	Recursive bool
	Write     bool
	List      bool
	NoColor   bool
	Targets   []string
}

func ParseFmt(args []string) (Fmt, hcl.Diagnostics) {
	f := Fmt{Write: true, List: true}
	fs := newFlagSet("fmt")
	fs.BoolVar(&f.Check, "check", false, "")
	fs.BoolVar(&f.Diff, "diff", false, "")
	fs.BoolVar(&f.Recursive, "recursive", false, "")
	fs.BoolVar(&f.Write, "write", true, "")
	fs.BoolVar(&f.List, "list", true, "")
	fs.BoolVar(&f.NoColor, "no-color", false, "")
	diags := parseFlags(fs, args)
	f.Targets = fs.Args()
	if f.Check {
		// Checking never changes a file, as in terraform fmt -check.
		f.Write = false
	}
	for _, t := range f.Targets {
		if t == "-" && len(f.Targets) > 1 {
			diags = append(diags, errorDiag("Invalid fmt targets", "Standard input (-) cannot be formatted together with files.")...)
		}
	}
	return f, diags
}

// Version holds the options of collect version.
type Version struct {
	JSON bool
}

func ParseVersion(args []string) (Version, hcl.Diagnostics) {
	var v Version
	fs := newFlagSet("version")
	fs.BoolVar(&v.JSON, "json", false, "")
	diags := parseFlags(fs, args)
	if len(fs.Args()) > 0 {
		diags = append(diags, tooManyArgs("version", fs.Args(), "")...)
	}
	return v, diags
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// helpDiag marks a diagnostics list that only asks for help.
const helpSummary = "help requested"

func parseFlags(fs *flag.FlagSet, args []string) hcl.Diagnostics {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: helpSummary}}
	default:
		msg := err.Error()
		if name, ok := unknownFlag(fs, args); ok {
			var names []string
			fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
			detail := fmt.Sprintf("The %s command has no option -%s.", commandName(fs), name)
			if s := suggestName(name, names); s != "" {
				detail += fmt.Sprintf(" Did you mean -%s?", s)
			}
			detail += fmt.Sprintf(" Run collect %s -help for its options.", commandName(fs))
			return errorDiag("Unknown option", detail)
		}
		return errorDiag("Invalid option", fmt.Sprintf("%s. Run collect %s -help for its options.", capitalize(msg), commandName(fs)))
	}
}

// unknownFlag finds the option flag parsing stopped at because fs does
// not define it, reading args the way the flag package does.
func unknownFlag(fs *flag.FlagSet, args []string) (string, bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || len(a) < 2 || a[0] != '-' {
			return "", false // the options end here
		}
		name, _, hasValue := strings.Cut(strings.TrimPrefix(a[1:], "-"), "=")
		f := fs.Lookup(name)
		if f == nil {
			return name, name != "help" && name != "h"
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !hasValue && !(ok && b.IsBoolFlag()) {
			i++ // the next argument is this option's value
		}
	}
	return "", false
}

func commandName(fs *flag.FlagSet) string {
	if fs.Name() == "collect" {
		return ""
	}
	return fs.Name()
}

func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

func wantsHelp(diags hcl.Diagnostics) bool {
	for _, d := range diags {
		if d.Summary == helpSummary {
			return true
		}
	}
	return false
}

func tooManyArgs(cmd string, extra []string, hint string) hcl.Diagnostics {
	for _, a := range extra[1:] {
		if strings.HasPrefix(a, "-") {
			return errorDiag("Unexpected arguments",
				fmt.Sprintf("Options must come before arguments: %q came after %q.", a, extra[0]))
		}
	}
	detail := fmt.Sprintf("collect %s takes no arguments, but got %q.", cmd, strings.Join(extra, " "))
	if hint != "" {
		detail += " " + hint
	}
	return errorDiag("Unexpected arguments", detail)
}

func errorDiag(summary, detail string) hcl.Diagnostics {
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: summary, Detail: detail}}
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// Plan holds the options of collect plan.
type Plan struct {
	Out              string
	DetailedExitcode bool
	JSON             bool
	Targets          []string
	Vars             []config.VarOption
	LockTimeout      time.Duration
	Input            bool
	Parallelism      int
	NoColor          bool
}

func addPlanFlags(fs *flag.FlagSet, p *Plan) {
	fs.BoolVar(&p.JSON, "json", false, "")
	fs.Func("target", "", func(s string) error {
		if strings.TrimSpace(s) == "" {
			return errors.New("the -target option needs an address, such as custodian.jdoe")
		}
		p.Targets = append(p.Targets, s)
		return nil
	})
	addVarFlags(fs, &p.Vars)
	fs.DurationVar(&p.LockTimeout, "lock-timeout", 0, "")
	fs.BoolVar(&p.Input, "input", true, "")
	fs.IntVar(&p.Parallelism, "parallelism", 10, "")
	fs.BoolVar(&p.NoColor, "no-color", false, "")
}

func ParsePlan(args []string) (Plan, hcl.Diagnostics) {
	p := Plan{Input: true, Parallelism: 10}
	fs := newFlagSet("plan")
	addPlanFlags(fs, &p)
	fs.StringVar(&p.Out, "out", "", "")
	fs.BoolVar(&p.DetailedExitcode, "detailed-exitcode", false, "")
	diags := parseFlags(fs, args)
	if len(fs.Args()) > 0 {
		diags = append(diags, tooManyArgs("plan", fs.Args(), "Use -chdir=DIR to plan another matter.")...)
	}
	diags = append(diags, checkCommon(p.Parallelism, p.LockTimeout)...)
	if isSet(fs, "out") && p.Out == "" {
		diags = append(diags, errorDiag("Invalid -out option", "The -out option needs a file name: -out=FILE.")...)
	}
	return p, diags
}

// Apply holds the options of collect apply.
type Apply struct {
	Plan
	PlanFile    string
	AutoApprove bool
}

func ParseApply(args []string) (Apply, hcl.Diagnostics) {
	a := Apply{Plan: Plan{Input: true, Parallelism: 10}}
	fs := newFlagSet("apply")
	addPlanFlags(fs, &a.Plan)
	fs.BoolVar(&a.AutoApprove, "auto-approve", false, "")
	diags := parseFlags(fs, args)
	switch rest := fs.Args(); len(rest) {
	case 0:
	case 1:
		a.PlanFile = rest[0]
		if len(a.Targets) > 0 {
			diags = append(diags, errorDiag("Options that a saved plan already fixed",
				"A saved plan was made for its own targets; -target cannot change it. "+
					"Make a new plan with collect plan -target=ADDR -out=FILE instead.")...)
		}
	default:
		diags = append(diags, errorDiag("Unexpected arguments",
			fmt.Sprintf("collect apply takes at most one saved plan file, but got %q. Options come before the plan file.",
				strings.Join(rest, " ")))...)
	}
	if a.JSON && a.PlanFile == "" && !a.AutoApprove {
		diags = append(diags, errorDiag("Approval needed for -json",
			"With -json, apply cannot ask for approval: add -auto-approve, or apply a saved plan file.")...)
	}
	diags = append(diags, checkCommon(a.Parallelism, a.LockTimeout)...)
	return a, diags
}

func checkCommon(parallelism int, lockTimeout time.Duration) hcl.Diagnostics {
	var diags hcl.Diagnostics
	if parallelism < 1 || parallelism > 256 {
		diags = append(diags, errorDiag("Invalid -parallelism", "The -parallelism option must be between 1 and 256 mailboxes.")...)
	}
	if lockTimeout < 0 {
		diags = append(diags, errorDiag("Invalid -lock-timeout", "The -lock-timeout option must not be negative, such as -lock-timeout=30s.")...)
	}
	return diags
}

// Verify holds the options of collect verify.
type Verify struct {
	JSON        bool
	Vars        []config.VarOption
	LockTimeout time.Duration
	// Custody checks only the custody log and the natives, offline;
	// Output names an output folder to check without the matter, and
	// Verifier the public key its checkpoints must be signed with.
	Custody  bool
	Output   string
	Verifier string
	// Checkpoints are checkpoint files kept elsewhere that the log must
	// extend (-checkpoint, repeatable).
	Checkpoints []string
}

func ParseVerify(args []string) (Verify, hcl.Diagnostics) {
	var v Verify
	fs := newFlagSet("verify")
	fs.BoolVar(&v.JSON, "json", false, "")
	fs.BoolVar(&v.Custody, "custody", false, "")
	fs.StringVar(&v.Output, "output", "", "")
	fs.StringVar(&v.Verifier, "verifier", "", "")
	fs.Func("checkpoint", "", func(f string) error { v.Checkpoints = append(v.Checkpoints, f); return nil })
	addVarFlags(fs, &v.Vars)
	fs.DurationVar(&v.LockTimeout, "lock-timeout", 0, "")
	diags := parseFlags(fs, args)
	if len(fs.Args()) > 0 {
		diags = append(diags, tooManyArgs("verify", fs.Args(), "Use -chdir=DIR to verify another matter.")...)
	}
	if v.Output != "" && !v.Custody {
		diags = append(diags, errorDiag("Option needs -custody",
			"-output verifies an output folder without its matter and state, which only collect verify -custody can: add -custody.")...)
	}
	return v, append(diags, checkCommon(1, v.LockTimeout)...)
}

// StateCmd holds the options of collect state list and state show.
type StateCmd struct {
	Sub         string
	Addr        string
	Vars        []config.VarOption
	LockTimeout time.Duration
}

func ParseStateCmd(sub string, args []string) (StateCmd, hcl.Diagnostics) {
	c := StateCmd{Sub: sub}
	if sub != "list" && sub != "show" {
		detail := fmt.Sprintf("collect state has no subcommand %q: use state list or state show ADDR.", sub)
		return c, errorDiag("Unknown state subcommand", detail)
	}
	fs := newFlagSet("state " + sub)
	addVarFlags(fs, &c.Vars)
	fs.DurationVar(&c.LockTimeout, "lock-timeout", 0, "")
	diags := parseFlags(fs, args)
	rest := fs.Args()
	switch {
	case sub == "show" && len(rest) != 1:
		diags = append(diags, errorDiag("Missing address", "collect state show needs one address, such as custodian.jdoe.mailbox.primary.")...)
	case len(rest) > 1:
		diags = append(diags, errorDiag("Unexpected arguments", "collect state list takes at most one address.")...)
	case len(rest) == 1:
		c.Addr = rest[0]
	}
	return c, append(diags, checkCommon(1, c.LockTimeout)...)
}

// Show holds the options of collect show.
type Show struct {
	JSON        bool
	PlanFile    string
	Vars        []config.VarOption
	LockTimeout time.Duration
}

func ParseShow(args []string) (Show, hcl.Diagnostics) {
	var v Show
	fs := newFlagSet("show")
	fs.BoolVar(&v.JSON, "json", false, "")
	addVarFlags(fs, &v.Vars)
	fs.DurationVar(&v.LockTimeout, "lock-timeout", 0, "")
	diags := parseFlags(fs, args)
	switch rest := fs.Args(); len(rest) {
	case 0:
	case 1:
		v.PlanFile = rest[0]
	default:
		diags = append(diags, errorDiag("Unexpected arguments", "collect show takes at most one saved plan file.")...)
	}
	return v, append(diags, checkCommon(1, v.LockTimeout)...)
}

// sentence makes an error message read as a sentence: capitalized, with a
// final period unless it already ends with punctuation.
func sentence(s string) string {
	s = capitalize(strings.TrimSpace(s))
	if s == "" || strings.ContainsRune(".?!", rune(s[len(s)-1])) {
		return s
	}
	return s + "."
}
