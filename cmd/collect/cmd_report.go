package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/collect-ediscovery/collect/config"
	"github.com/collect-ediscovery/collect/custody"
	"github.com/collect-ediscovery/collect/internal/durable"
	"github.com/hashicorp/hcl/v2"
)

const reportHelp = `Usage: collect [global options] report [options]

  Writes the collection report: one self-contained file, for the lawyers and
  for the court, built from the state and the output folder only. It names
  the matter, who collected with what, each run, the messages collected per
  custodian, mailbox and window, the exceptions, the latest custody
  checkpoint and how to verify it, and a draft of the FRE 902(14)
  certification with the facts filled in and the signature lines blank.

Options:
  -out=FILE          Where to write it (default: report.html, or report.md
                     with -format=md, in the output folder).
  -format=html|md    HTML (default; no external requests) or Markdown.
  -var 'name=value'  Set a variable. Repeatable.
  -var-file=FILE     Set variables from a file.
  -shard=I/N         With a backend: work on shard I of N only (default:
                     COLLECT_SHARD, or JOB_COMPLETION_INDEX and COLLECT_SHARDS).
  -backend-config=K=V
                     Override a backend block argument. Repeatable.
  -lock-timeout=D    Wait up to D for the state lock (default 0: fail at once).
`

// Report holds the options of collect report.
type Report struct {
	Out, Format string
	Vars        []config.VarOption
	LockTimeout time.Duration
}

func ParseReport(args []string) (Report, hcl.Diagnostics) {
	r := Report{Format: "html"}
	fs := newFlagSet("report")
	fs.StringVar(&r.Out, "out", "", "")
	fs.StringVar(&r.Format, "format", "html", "")
	addVarFlags(fs, &r.Vars)
	fs.DurationVar(&r.LockTimeout, "lock-timeout", 0, "")
	diags := parseFlags(fs, args)
	if len(fs.Args()) > 0 {
		diags = append(diags, tooManyArgs("report", fs.Args(), "")...)
	}
	if r.Format != "html" && r.Format != "md" {
		diags = append(diags, errorDiag("Invalid -format", fmt.Sprintf("collect report writes html or md, not %q.", r.Format))...)
	}
	return r, append(diags, checkCommon(1, r.LockTimeout)...)
}

func runReport(s *streams, args []string) int {
	opts, diags := ParseReport(args)
	if diags.HasErrors() {
		s.writeDiags(diags, nil)
		return exitError
	}
	m := loadMatterToRead(s, opts.Vars)
	if m == nil {
		return exitError
	}
	if m.Backend.Type != "" && opts.Out == "" {
		s.errorf("Report needs -out", "The collection is kept in a %s backend; a command's working folder is made anew "+
			"each time. Name the file the report goes to with -out=FILE.", m.Backend.Type)
		return exitError
	}
	facts := custody.ReportFacts{
		Matter: m.Name, Description: m.Description, TenantID: m.Tenant.TenantID, ClientID: m.Tenant.ClientID,
		Auth: m.Tenant.Auth, Verifier: m.Custody.Verifier, ToolVersion: toolVersion(), Generated: time.Now().UTC(),
	}
	if m.Tenant.Cloud == "demo" {
		facts.TenantID, facts.ClientID = "the built-in demo tenant (simulated mail)", "none (demo)"
	}
	for _, w := range m.Windows {
		facts.Windows = append(facts.Windows, custody.Window{Name: w.Name, Start: w.Start, End: w.End})
	}
	view := reportView{output: m.Output.Path}
	var parts []custody.ReportData
	var names []string
	code := eachShard(s, m, func(sh config.Shard, count int, one *config.Matter) int {
		db, code := readCollectionOf(s, one, opts.LockTimeout, "report")
		if db == nil {
			return code
		}
		defer db.Close()
		f := facts
		f.Origin = s.custodyOrigin(one)
		d, err := custody.BuildReport(one.Output.Path, db, f)
		if err != nil {
			s.errorf("Cannot make the report", "%s", sentence(err.Error()))
			return exitError
		}
		parts, names = append(parts, d), append(names, sh.String())
		view.output = one.Output.Path
		if s.remote != nil {
			view.verifyCmd = "collect verify"
			if count == 1 && sh.Count > 1 {
				view.verifyCmd += " -shard=" + sh.String()
			}
		}
		return exitOK
	})
	if code != exitOK {
		return code
	}
	data := parts[0]
	if len(parts) > 1 {
		data = custody.MergeReports(parts, names)
	}
	var err error
	out := opts.Out
	if out == "" {
		out = filepath.Join(m.Output.Path, "report."+opts.Format)
	}
	var buf bytes.Buffer
	if opts.Format == "md" {
		err = view.Markdown(&buf, data)
	} else {
		err = view.HTML(&buf, data)
	}
	if err == nil {
		err = durable.WriteFile(out, buf.Bytes(), 0o600)
	}
	if err != nil {
		s.errorf("Cannot write the report", "%s", sentence(err.Error()))
		return exitError
	}
	fmt.Fprintf(s.stdout, "Wrote the collection report to %s: %s in %s, %s.\n", out,
		plural(data.Totals.Messages, "message", "messages"), plural(len(data.Mailboxes), "mailbox", "mailboxes"),
		plural(len(data.Runs), "run", "runs"))
	if !data.Custody.OK() {
		run := "collect verify -custody"
		if view.verifyCmd != "" {
			run = view.verifyCmd
		}
		fmt.Fprintf(s.stdout, "The custody log does not verify (%s); the report says so. Run %s.\n",
			strings.ToLower(plural(len(data.Custody.Problems), "problem", "problems")), run)
	}
	return exitOK
}
