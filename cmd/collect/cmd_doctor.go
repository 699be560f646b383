package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/collect-ediscovery/collect/config"
	"github.com/collect-ediscovery/collect/graph"
	"github.com/collect-ediscovery/collect/graph/entra"
	"github.com/collect-ediscovery/collect/plan"
	"github.com/collect-ediscovery/collect/state"
)

const doctorHelp = `Usage: collect [global options] doctor [options]

  A preflight to run before a collection, and in CI before apply. It
  checks, against the live tenant and without writing anything:

  - the output folder and the state file's folder can be written by this
    user (or created where they do not exist yet) and have free space
  - sign-in works, and the token's permissions (its scp or roles claim,
    read without verifying it) include what collect needs
  - every custodian and mailbox address resolves, by alias if needed
    (shown as alias -> primary mailbox)
  - every mailbox can be read, with one cheap request; a mailbox that
    cannot says exactly what to ask the Exchange admin for
  - how many messages each window holds, counted with the same delta
    enumeration a first plan makes (every in-scope folder is listed, but
    no message is fetched); a window with 0 messages is a warning

  Each check prints one line, ok, warn or FAIL, and a failure the fix.

Options:
  -json              Print the report as JSON.
  -no-counts         Skip counting the messages of each window (faster on
                     large mailboxes).
  -parallelism=N     Check N mailboxes at once (default 4).
  -var 'name=value'  Set a variable. Repeatable.
  -var-file=FILE     Set variables from a file.
  -shard=I/N         With a backend: work on shard I of N only (default:
                     COLLECT_SHARD, or JOB_COMPLETION_INDEX and COLLECT_SHARDS).
  -backend-config=K=V
                     Override a backend block argument. Repeatable.

Exit status: 0 when every check passes (warnings included), 1 otherwise.
`

type doctorOptions struct {
	JSON        bool
	NoCounts    bool
	Parallelism int
	Vars        []config.VarOption
}

func parseDoctor(args []string) (doctorOptions, bool, error) {
	o := doctorOptions{Parallelism: 4}
	fs := newFlagSet("doctor")
	fs.BoolVar(&o.JSON, "json", false, "")
	fs.BoolVar(&o.NoCounts, "no-counts", false, "")
	fs.IntVar(&o.Parallelism, "parallelism", 4, "")
	addVarFlags(fs, &o.Vars)
	if diags := parseFlags(fs, args); diags.HasErrors() {
		return o, false, errors.New(diags[0].Detail)
	}
	if fs.NArg() > 0 {
		return o, false, errors.New("collect doctor takes no arguments; run collect doctor -help")
	}
	if o.Parallelism < 1 {
		return o, false, errors.New("-parallelism must be at least 1")
	}
	return o, true, nil
}

// doctorCheck is one line of the report.
type doctorCheck struct {
	Status    string `json:"status"` // ok, warn or FAIL
	Check     string `json:"check"`  // output, state, sign-in, permissions, mailbox, folders, window
	Address   string `json:"address,omitempty"`
	Message   string `json:"message"`
	Fix       string `json:"fix,omitempty"`
	Code      string `json:"code,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	Messages  *int64 `json:"messages,omitempty"` // window checks: how many messages the window holds
}

type doctorReport struct {
	OK          bool             `json:"ok"`
	Matter      string           `json:"matter"`
	Tenant      string           `json:"tenant_id"`
	ClientID    string           `json:"client_id"`
	Auth        string           `json:"auth"`
	Cloud       string           `json:"cloud"`
	Demo        bool             `json:"demo,omitempty"`
	Token       *entra.TokenInfo `json:"token,omitempty"`
	CountMethod string           `json:"count_method,omitempty"`
	Checks      []doctorCheck    `json:"checks"`
}

const (
	statusOK   = "ok"
	statusWarn = "warn"
	statusFail = "FAIL"
)

func runDoctor(s *streams, args []string) int {
	opts, ok, err := parseDoctor(args)
	v := newDoctorView(s, opts.JSON)
	if !ok {
		s.errorf("Invalid option", "%s", sentence(err.Error()))
		v.Failed()
		return exitError
	}
	m := loadMatter(s, opts.Vars)
	if m == nil {
		v.Failed()
		return exitError
	}
	t := m.Tenant
	rep := &doctorReport{Matter: m.Name, Tenant: t.TenantID, ClientID: t.ClientID, Auth: t.Auth, Cloud: t.Cloud}
	if !opts.NoCounts {
		rep.CountMethod = "delta enumeration of every in-scope folder, as a first plan makes"
	}
	if m.Backend.Type != "" {
		rep.add(backendCheck(s, m))
	} else {
		for _, c := range storageChecks(m) {
			rep.add(c)
		}
	}
	conn, err := connect(s, m, toolVersion())
	if err != nil {
		c := doctorCheck{Status: statusFail, Check: "sign-in", Message: sentence(err.Error()), Fix: advise(err, s.advice)}
		var ge *graph.Error
		if errors.As(err, &ge) {
			c.Code, c.RequestID = ge.Code, ge.RequestID
		}
		rep.add(c)
		return finishDoctor(v, rep)
	}
	defer conn.close()
	if conn.demo {
		rep.Demo = true
		rep.Tenant, rep.ClientID = conn.authority.Tenant, conn.authority.ClientID
		v.Demo()
	}
	info := conn.token
	rep.Token = &info
	rep.add(doctorCheck{Status: statusOK, Check: "sign-in", Message: signedInAs(t, info, conn.demo, rep.Tenant, rep.ClientID)})
	rep.add(permissionCheck(info, conn.authority))

	// The mailboxes are checked by the planner itself, against the state
	// read only: what doctor says about a mailbox is what plan would.
	db, closeDB, c := surveyState(m)
	if c != nil {
		rep.add(*c)
	}
	if db == nil {
		return finishDoctor(v, rep)
	}
	defer closeDB()
	ctx, stop := interruptible(s, "Interrupted: stopping doctor.")
	defer stop()
	p, err := plan.Make(ctx, m, db, conn.src, plan.Options{
		Parallelism: opts.Parallelism, ToolVersion: toolVersion(), Survey: true, FoldersOnly: opts.NoCounts,
	})
	if err != nil {
		if ctx.Err() != nil {
			s.errorf("Interrupted", "doctor was stopped before every mailbox was checked.")
		} else {
			s.errorf("Cannot check the mailboxes", "%s", sentence(err.Error()))
		}
		v.Failed()
		return exitError
	}
	for _, c := range surveyChecks(m, p, conn.facts(t), !opts.NoCounts) {
		rep.add(c)
	}
	return finishDoctor(v, rep)
}

func (r *doctorReport) add(c doctorCheck) { r.Checks = append(r.Checks, c) }

// finishDoctor shows the report; every check must pass (warnings allowed).
func finishDoctor(v doctorView, rep *doctorReport) int {
	rep.OK = true
	for _, c := range rep.Checks {
		if c.Status == statusFail {
			rep.OK = false
		}
	}
	v.Report(rep)
	if !rep.OK {
		return exitError
	}
	return exitOK
}

// permission is one permission collect needs, with the ones that include it.
type permission struct {
	name, why string
	covers    []string
}

func neededPermissions(delegated bool) []permission {
	if delegated {
		return []permission{
			{"Mail.Read", "read the signed-in user's own mail", []string{"Mail.Read", "Mail.ReadWrite"}},
			{"Mail.Read.Shared", "read the other mailboxes the user has Full Access to", []string{"Mail.Read.Shared", "Mail.ReadWrite.Shared"}},
			{"User.Read.All", "resolve custodians by address and alias", []string{"User.Read.All", "Directory.Read.All", "User.ReadWrite.All", "Directory.ReadWrite.All"}},
		}
	}
	return []permission{
		{"Mail.Read", "read the mailboxes", []string{"Mail.Read", "Mail.ReadWrite"}},
		{"User.Read.All", "resolve custodians by address and alias", []string{"User.Read.All", "Directory.Read.All", "User.ReadWrite.All", "Directory.ReadWrite.All"}},
	}
}

func permissionCheck(info entra.TokenInfo, a entra.Authority) doctorCheck {
	claim, kind := "roles", "application"
	held := info.Roles
	if info.Delegated {
		claim, kind, held = "scp", "delegated", info.Scopes
	}
	if info.AppID == "" && len(held) == 0 {
		return doctorCheck{Status: statusWarn, Check: "permissions",
			Message: "the access token's permissions cannot be read (it is not a JWT); the mailbox checks below still show what works"}
	}
	var missing, why []string
	for _, p := range neededPermissions(info.Delegated) {
		if !info.Has(p.covers...) {
			missing = append(missing, p.name)
			why = append(why, fmt.Sprintf("%s (to %s)", p.name, p.why))
		}
	}
	if len(missing) == 0 {
		have := append([]string(nil), held...)
		sort.Strings(have)
		return doctorCheck{Status: statusOK, Check: "permissions",
			Message: fmt.Sprintf("the token's %s claim holds %s", claim, strings.Join(have, ", "))}
	}
	return doctorCheck{Status: statusFail, Check: "permissions",
		Message: fmt.Sprintf("the token's %s claim lacks the %s permission(s) %s", claim, kind, strings.Join(missing, ", ")),
		Fix: fmt.Sprintf("add the %s permission(s) %s of Microsoft Graph to app %s (API permissions), then have an administrator grant admin consent at %s",
			kind, strings.Join(why, ", "), a.ClientID, a.AdminConsentURL())}
}

// surveyState opens the state read only for the survey, taking no lock
// an apply would wait for. A state that cannot be opened is a failed
// check; when its folder is unusable (a check above says so) the survey
// runs against an empty state, which counts windows the same.
func surveyState(m *config.Matter) (*state.DB, func(), *doctorCheck) {
	opts := state.Options{ReadOnly: true, Snapshot: true, Operation: "doctor", ToolVersion: toolVersion()}
	db, err := state.Open(m.State.Path, opts)
	if err == nil {
		return db, func() { db.Close() }, nil
	}
	var locked *state.LockedError
	if errors.As(err, &locked) {
		return nil, nil, &doctorCheck{Status: statusFail, Check: "state", Message: sentence(err.Error()),
			Fix: "run collect doctor again when the other run has finished"}
	}
	if _, statErr := os.Stat(filepath.Dir(m.State.Path)); statErr == nil {
		return nil, nil, &doctorCheck{Status: statusFail, Check: "state", Message: sentence(err.Error())}
	}
	tmp, terr := os.MkdirTemp("", "collect-doctor-")
	if terr != nil {
		return nil, nil, &doctorCheck{Status: statusFail, Check: "state", Message: sentence(err.Error())}
	}
	db, err = state.Open(filepath.Join(tmp, "survey.state"), opts)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, nil, &doctorCheck{Status: statusFail, Check: "state", Message: sentence(err.Error())}
	}
	return db, func() { db.Close(); os.RemoveAll(tmp) }, nil
}

// surveyChecks are doctor's lines for each mailbox of the survey plan, in
// the matter's order: how it resolves, its folder filter, its windows.
func surveyChecks(m *config.Matter, p *plan.Plan, facts adviceFacts, counts bool) []doctorCheck {
	cfgs := map[string]*config.Mailbox{}
	for _, mb := range m.Mailboxes {
		cfgs[mb.Addr] = mb
	}
	var out []doctorCheck
	for _, pm := range p.Mailboxes {
		cfg := cfgs[pm.Addr]
		if cfg == nil {
			continue
		}
		f := facts
		f.Mailbox = pm.Resolved.Address
		if pm.Error != nil && (pm.Resolved.ID == "" || pm.Error.FailedScope) {
			out = append(out, mailboxFailure(cfg, pm.Resolved, *pm.Error, f))
			continue
		}
		msg := fmt.Sprintf("%s resolves to %s (%s), readable", cfg.Email, pm.Resolved.Address, pm.Resolved.DisplayName)
		if pm.Resolved.ResolvedVia == "alias" {
			msg = fmt.Sprintf("%s -> %s (%s): an alias of the primary mailbox, readable", cfg.Email, pm.Resolved.Address, pm.Resolved.DisplayName)
		}
		out = append(out, doctorCheck{Status: statusOK, Check: "mailbox", Address: pm.Addr, Message: msg})
		for _, e := range p.Errors {
			if e.Addr == pm.Addr && e.SameAs != "" {
				out = append(out, doctorCheck{Status: statusFail, Check: "mailbox", Address: pm.Addr,
					Message: fmt.Sprintf("%s and %s name the same mailbox %s", e.SameAs, pm.Addr, pm.Resolved.Address),
					Fix:     "name each mailbox once in the matter, and list every custodian it belongs to in a mailbox block's custodians"})
			}
		}
		out = append(out, folderChecks(pm)...)
		if counts {
			out = append(out, windowChecks(cfg, pm, p.Warnings)...)
		}
	}
	return out
}

// folderChecks fails each folders.include entry that matches no folder
// of the mailbox, and warns about each such folders.exclude entry.
func folderChecks(pm *plan.Mailbox) []doctorCheck {
	var out []doctorCheck
	for _, u := range pm.Unmatched {
		c := doctorCheck{Status: statusFail, Check: "folders", Address: pm.Addr,
			Message: fmt.Sprintf("%s entry %q matches no folder of %s", u.Field(), u.Entry, pm.Resolved.Address),
			Fix:     "correct the entry in the matter: a display path from the mailbox root (\"Inbox/Projects\") or a well-known name (\"sentitems\")"}
		if u.Exclude {
			c.Status, c.Fix = statusWarn, "it leaves nothing out; correct or remove it"
		}
		c.Message += plan.DidYouMean(u.Nearest)
		out = append(out, c)
	}
	return out
}

// mailboxFailure is the line of a mailbox the planner could not resolve
// or read, with the one fix for its kind.
func mailboxFailure(mb *config.Mailbox, res graph.Mailbox, e plan.Problem, facts adviceFacts) doctorCheck {
	c := doctorCheck{Status: statusFail, Check: "mailbox", Address: mb.Addr, Code: e.Code, RequestID: e.RequestID}
	name := mb.Email
	if res.Address != "" && !strings.EqualFold(res.Address, mb.Email) {
		name = fmt.Sprintf("%s (-> %s)", mb.Email, res.Address)
	}
	facts.Mailbox = mb.Email
	if res.Address != "" {
		facts.Mailbox = res.Address
	}
	facts.RequestID = e.RequestID
	switch e.Kind {
	case graph.KindNotFound:
		c.Message = fmt.Sprintf("no user, shared mailbox or alias in the tenant has the address %s", mb.Email)
	case graph.KindAccessDenied:
		c.Message = fmt.Sprintf("%s exists but cannot be read (HTTP 403 %s)", name, c.Code)
	case graph.KindMailboxNotEnabled:
		c.Message = fmt.Sprintf("%s has no Exchange Online mailbox Graph can read (HTTP 404 %s): it is on-premises, inactive, soft-deleted, unlicensed or a guest", name, c.Code)
	default:
		c.Message = fmt.Sprintf("%s cannot be checked: %s", name, e.Detail)
	}
	c.Fix = adviceFor(e.Kind, facts)
	return c
}

// windowChecks report the messages the survey counted in each window of
// the mailbox (or in the whole mailbox); an empty one is a warning whose
// fix is the cause the planner found.
func windowChecks(cfg *config.Mailbox, pm *plan.Mailbox, warnings []plan.Problem) []doctorCheck {
	cause := func(window string) string {
		for _, w := range warnings {
			if w.Addr == pm.Addr && w.Window == window && w.Detail != "" {
				return w.Detail
			}
		}
		return ""
	}
	var out []doctorCheck
	if len(cfg.Windows) == 0 {
		n := pm.Counts().Seen
		c := doctorCheck{Status: statusOK, Check: "window", Address: pm.Addr, Messages: &n,
			Message: fmt.Sprintf("whole mailbox: %d messages in scope", n)}
		if n == 0 {
			c.Status, c.Message, c.Fix = statusWarn, "whole mailbox: 0 messages in scope", cause("")
		}
		return append(out, c)
	}
	for _, w := range cfg.Windows {
		n := pm.WindowCounts[w.Name]
		c := doctorCheck{Status: statusOK, Check: "window", Address: pm.Addr, Messages: &n,
			Message: fmt.Sprintf("window %q: %d messages", w.Name, n)}
		if n == 0 {
			c.Status, c.Message, c.Fix = statusWarn, fmt.Sprintf("window %q: 0 messages", w.Name), cause(w.Name)
		}
		out = append(out, c)
	}
	return out
}
