package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/collect-ediscovery/collect/graph/graphsim"
	"github.com/collect-ediscovery/collect/internal/clock"
	"github.com/rogpeppe/go-internal/testscript"
)

// The script tests run collect against a simulated tenant of their own,
// served on loopback: the real binary, the real Graph client, the real
// HTTP. A matter reaches it through variables set in the environment:
//
//	tenant {
//	  tenant_id = var.tenant_id
//	  client_id = var.client_id
//	  auth      = "client_secret"
//	}
//
// The sim command changes the tenant between runs.

const simDomain = "sim.collect.invalid"

// holds are the scripts' pending request holds.
var holds sync.Map

// simTenant builds the tenant every script starts with:
//
//	ann@   (alias a@): Inbox 30 (2024), Inbox/Projects 5 (2024), Sent Items 10 (2024), Deleted Items 4 (2023)
//	bob@:            Inbox 12 (2024)
//	legal@ (shared): Inbox 6 (2024)
//	nobox@:          a user without a mailbox
func simTenant() (*graphsim.Tenant, error) {
	tn := graphsim.New(graphsim.Config{Seed: 42, Domain: simDomain,
		Clock: clock.NewFake(time.Date(2025, 1, 15, 9, 0, 0, 0, time.UTC))})
	d := "@" + simDomain
	for _, u := range []graphsim.UserSpec{
		{UPN: "ann" + d, DisplayName: "Ann Archer", Aliases: []string{"a" + d}},
		{UPN: "bob" + d, DisplayName: "Bob Baker"},
		{UPN: "legal" + d, DisplayName: "Legal", Kind: graphsim.SharedMailbox},
		{UPN: "nobox" + d, DisplayName: "No Box", Kind: graphsim.NoMailbox},
	} {
		if _, err := tn.AddUser(u); err != nil {
			return nil, err
		}
	}
	y2024 := graphsim.Populate{From: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2024, 12, 1, 0, 0, 0, 0, time.UTC)}
	y2023 := graphsim.Populate{From: time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2023, 12, 1, 0, 0, 0, 0, time.UTC)}
	inbox, err := tn.FolderID("ann"+d, "inbox")
	if err != nil {
		return nil, err
	}
	projects, err := tn.CreateFolder("ann"+d, inbox, "Projects", false)
	if err != nil {
		return nil, err
	}
	for _, p := range []struct {
		mailbox, folder string
		count           int
		span            graphsim.Populate
	}{
		{"ann", "inbox", 30, y2024}, {"ann", projects, 5, y2024}, {"ann", "sentitems", 10, y2024},
		{"ann", "deleteditems", 4, y2023}, {"bob", "inbox", 12, y2024}, {"legal", "inbox", 6, y2024},
	} {
		id := p.folder
		if id == "inbox" || id == "sentitems" || id == "deleteditems" {
			if id, err = tn.FolderID(p.mailbox+d, p.folder); err != nil {
				return nil, err
			}
		}
		spec := p.span
		spec.Count = p.count
		if err := tn.Populate(p.mailbox+d, id, spec); err != nil {
			return nil, err
		}
	}
	return tn, nil
}

func setupSim(env *testscript.Env) error {
	tn, err := simTenant()
	if err != nil {
		return err
	}
	srv, err := graphsim.Start(tn, "127.0.0.1:0")
	if err != nil {
		return err
	}
	env.Defer(func() { srv.Close() })
	env.Values["sim"] = tn
	c := tn.Credentials()
	env.Setenv("COLLECT_GRAPH_ENDPOINT", srv.URL)
	env.Setenv("COLLECT_LOGIN_ENDPOINT", srv.URL)
	env.Setenv("COLLECT_CLIENT_SECRET", c.ClientSecret)
	env.Setenv("COLLECT_VAR_tenant_id", c.TenantID)
	env.Setenv("COLLECT_VAR_client_id", c.ClientID)
	env.Setenv("SIM_SECRET", c.ClientSecret)
	return nil
}

// simCmd changes or reads the script's simulated tenant:
//
//	sim deliver MAILBOX FOLDER N [DATE] N new messages, received on DATE (default: now)
//	sim move MAILBOX FROM TO N          move the first N messages of FROM to TO
//	sim delete MAILBOX FOLDER N         delete the first N messages of FOLDER
//	sim draft MAILBOX FOLDER N          N new drafts
//	sim edit-draft MAILBOX FOLDER N     edit the first N drafts of FOLDER (new bytes)
//	sim flag MAILBOX FOLDER N           flag the first N messages of FOLDER that are not drafts
//	sim categorize MAILBOX FOLDER N CAT set category CAT on the first N messages of FOLDER that are not drafts
//	sim folder MAILBOX PARENT NAME      create a folder
//	sim rename-folder MAILBOX FOLDER NAME give a created folder another name
//	sim move-folder MAILBOX FOLDER PARENT move a created folder under another
//	sim other-items MAILBOX FROM TO     add the notes, tasks, calendar items, contacts, Teams chat copies and meeting messages a real mailbox holds (graphsim's AddOtherItems), received between two dates
//	sim expire MAILBOX                  the server forgets the mailbox's delta tokens
//	sim fault MAILBOX KIND ROUTE        the next matching request fails (throttle, unavailable, reset, truncate, unauthorized, server-error)
//	sim route MAILBOX ROUTE             print how many requests of that route the mailbox got
//	sim counters-of MAILBOX             print "ROUTE N" for every route the mailbox got requests of
//	sim access MAILBOX allow|deny       whether the matter's app may read the mailbox
//	sim hold MAILBOX                    hold the mailbox's requests until sim release
//	sim wait-held N                     wait until N requests are held
//	sim release
//	sim reset-counters
//
// MAILBOX is a local part (ann), or a full address when it holds "@";
// FOLDER a well-known name or display path.
func simCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("sim cannot be negated")
	}
	tn := ts.Value("sim").(*graphsim.Tenant)
	if len(args) < 1 {
		ts.Fatalf("usage: sim VERB ...")
	}
	need := func(n int) {
		if len(args) != n+1 {
			ts.Fatalf("sim %s needs %d arguments", args[0], n)
		}
	}
	mailbox := func(i int) string {
		if strings.Contains(args[i], "@") {
			return args[i]
		}
		return args[i] + "@" + simDomain
	}
	folder := func(mb, f string) string {
		id, err := tn.FolderID(mb, f)
		ts.Check(err)
		return id
	}
	count := func(s string) int {
		n, err := strconv.Atoi(s)
		ts.Check(err)
		return n
	}
	firstN := func(mb, f string, n int) []graphsim.MessageRef {
		refs, err := tn.Messages(mb, folder(mb, f))
		ts.Check(err)
		if len(refs) < n {
			ts.Fatalf("%s %s holds %d messages, fewer than %d", mb, f, len(refs), n)
		}
		return refs[:n]
	}
	switch args[0] {
	case "deliver":
		var at time.Time
		if len(args) == 5 {
			var err error
			at, err = time.Parse("2006-01-02", args[4])
			ts.Check(err)
		} else {
			need(3)
		}
		mb := mailbox(1)
		fid := folder(mb, args[2])
		for i := range count(args[3]) {
			spec := graphsim.MessageSpec{Subject: fmt.Sprintf("New message %d", i+1)}
			if !at.IsZero() {
				spec.Received = at.Add(time.Duration(i) * time.Hour)
			}
			_, err := tn.Deliver(mb, fid, spec)
			ts.Check(err)
		}
	case "move":
		need(4)
		mb := mailbox(1)
		to := folder(mb, args[3])
		for _, r := range firstN(mb, args[2], count(args[4])) {
			_, err := tn.Move(mb, r.ImmutableID, to)
			ts.Check(err)
		}
	case "delete":
		need(3)
		mb := mailbox(1)
		for _, r := range firstN(mb, args[2], count(args[3])) {
			ts.Check(tn.Delete(mb, r.ImmutableID))
		}
	case "draft":
		need(3)
		mb := mailbox(1)
		fid := folder(mb, args[2])
		for i := range count(args[3]) {
			_, err := tn.Deliver(mb, fid, graphsim.MessageSpec{Subject: fmt.Sprintf("Draft %d", i+1), Draft: true})
			ts.Check(err)
		}
	case "edit-draft", "flag", "categorize":
		if args[0] == "categorize" {
			need(4)
		} else {
			need(3)
		}
		mb := mailbox(1)
		refs, err := tn.Messages(mb, folder(mb, args[2]))
		ts.Check(err)
		n := count(args[3])
		for _, r := range refs {
			if n == 0 {
				break
			}
			if r.IsDraft != (args[0] == "edit-draft") {
				continue
			}
			switch args[0] {
			case "edit-draft":
				_, err = tn.EditDraft(mb, r.ImmutableID)
			case "flag":
				_, err = tn.Flag(mb, r.ImmutableID, true)
			default:
				_, err = tn.Categorize(mb, r.ImmutableID, args[4])
			}
			ts.Check(err)
			n--
		}
		if n > 0 {
			ts.Fatalf("sim %s: %s %s holds too few such messages", args[0], mb, args[2])
		}
	case "folder":
		need(3)
		mb := mailbox(1)
		_, err := tn.CreateFolder(mb, folder(mb, args[2]), args[3], false)
		ts.Check(err)
	case "rename-folder":
		need(3)
		mb := mailbox(1)
		ts.Check(tn.RenameFolder(mb, folder(mb, args[2]), args[3]))
	case "move-folder":
		need(3)
		mb := mailbox(1)
		ts.Check(tn.MoveFolder(mb, folder(mb, args[2]), folder(mb, args[3])))
	case "other-items":
		need(3)
		from, err := time.Parse("2006-01-02", args[2])
		ts.Check(err)
		to, err := time.Parse("2006-01-02", args[3])
		ts.Check(err)
		ts.Check(tn.AddOtherItems(mailbox(1), from, to))
	case "expire":
		need(1)
		ts.Check(tn.ExpireDeltaTokens(mailbox(1)))
	case "fault":
		need(3)
		kinds := map[string]graphsim.FaultKind{
			"throttle": graphsim.FaultThrottle, "unavailable": graphsim.FaultUnavailable,
			"server-error": graphsim.FaultServerError, "reset": graphsim.FaultReset,
			"truncate": graphsim.FaultTruncate, "unauthorized": graphsim.FaultUnauthorized,
		}
		k, ok := kinds[args[2]]
		if !ok {
			ts.Fatalf("unknown fault %q", args[2])
		}
		ts.Check(tn.InjectFaults(mailbox(1), graphsim.Fault{Kind: k, Route: graphsim.Route(args[3])}))
	case "route":
		need(2)
		c := tn.Counters().Mailboxes[mailbox(1)]
		fmt.Fprintln(ts.Stdout(), c.ByRoute[graphsim.Route(args[2])])
	case "counters-of":
		need(1)
		c := tn.Counters().Mailboxes[mailbox(1)]
		routes := slices.Sorted(maps.Keys(c.ByRoute))
		for _, r := range routes {
			fmt.Fprintf(ts.Stdout(), "%s %d\n", r, c.ByRoute[r])
		}
	case "counters":
		b, err := json.MarshalIndent(tn.Counters(), "", "  ")
		ts.Check(err)
		fmt.Fprintln(ts.Stdout(), string(b))
	case "access":
		need(2)
		ts.Check(tn.SetMailboxAccess(tn.Credentials().ClientID, mailbox(1), args[2] == "allow"))
	case "hold":
		need(1)
		h, err := tn.HoldRequests(mailbox(1))
		ts.Check(err)
		holds.Store(ts, h)
	case "wait-held":
		need(1)
		h, ok := holds.Load(ts)
		if !ok {
			ts.Fatalf("sim wait-held without sim hold")
		}
		h.(*graphsim.Hold).Wait(count(args[1]))
	case "release":
		if h, ok := holds.LoadAndDelete(ts); ok {
			h.(*graphsim.Hold).Release()
		}
	case "reset-counters":
		tn.ResetCounters()
	default:
		ts.Fatalf("unknown sim verb %q", args[0])
	}
}
