package graphsim

import (
	"errors"
	"fmt"
	"time"
)

// Public, fake credentials of the demo tenant. They open nothing but this
// simulator and may be printed, committed and shared.
const (
	DemoTenantDomain = "demo.collect.invalid"
	DemoTenantID     = "00000000-de00-4c0e-a000-000000000001"
	DemoClientID     = "00000000-de00-4c0e-a000-0000000000c1"
	DemoClientSecret = "demo-secret-not-a-real-credential"
	DemoSeed         = 20240101
)

// Demo returns the demo tenant documented in the package comment. cfg's
// clock, limits, latency, faults and delta settings apply; its identity
// fields (seed, tenant, domain, client ID and secret) are replaced by the
// demo values. fixturesDir, when not empty, must be a directory of .eml
// files (searched recursively); they are added to legal@'s Inbox/Fixtures,
// served byte for byte, with received times spread over the demo years.
func Demo(cfg Config, fixturesDir string) (*Tenant, error) {
	cfg.Seed = DemoSeed
	cfg.TenantID, cfg.Domain = DemoTenantID, DemoTenantDomain
	cfg.ClientID, cfg.ClientSecret = DemoClientID, DemoClientSecret
	t := New(cfg)
	d := "@" + DemoTenantDomain
	users := []UserSpec{
		{UPN: "jane.doe" + d, DisplayName: "Jane Doe", Aliases: []string{"jdoe" + d}},
		{UPN: "john.smith" + d, DisplayName: "John Smith"},
		{UPN: "maria.garcia" + d, DisplayName: "Maria Garcia", Aliases: []string{"m.garcia" + d}},
		{UPN: "wei.chen" + d, DisplayName: "Wei Chen"},
		{UPN: "legal" + d, DisplayName: "Legal", Kind: SharedMailbox},
		{UPN: "contractor" + d, DisplayName: "Casey Contractor", Kind: NoMailbox},
		{UPN: "old.timer" + d, DisplayName: "Old Timer", Kind: OnPremisesMailbox},
	}
	for _, u := range users {
		if _, err := t.AddUser(u); err != nil {
			return nil, err
		}
	}
	from := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC)
	must := func(id string, err error) string {
		if err != nil {
			panic(fmt.Sprintf("graphsim: building the demo tenant: %v", err))
		}
		return id
	}
	jane := "jane.doe" + d
	inbox := must(t.FolderID(jane, "inbox"))
	projects := must(t.CreateFolder(jane, inbox, "Projects", false))
	globex := must(t.CreateFolder(jane, projects, "Globex", false))
	hidden := must(t.CreateFolder(jane, "msgfolderroot", "Quarantined Notes", true))
	legalInbox := must(t.FolderID("legal"+d, "inbox"))
	fixtures := must(t.CreateFolder("legal"+d, legalInbox, "Fixtures", false))
	plan := []struct {
		mailbox, folder string
		p               Populate
	}{
		{jane, "inbox", Populate{Count: 60, Large: 1, LargeSize: 3 << 20}},
		{jane, "sentitems", Populate{Count: 25}},
		{jane, globex, Populate{Count: 15}},
		{jane, "archive", Populate{Count: 10}},
		{jane, "deleteditems", Populate{Count: 5}},
		{jane, "drafts", Populate{Count: 2, Drafts: 2}},
		{jane, "recoverableitemsdeletions", Populate{Count: 3}},
		{jane, hidden, Populate{Count: 3}},
		{"john.smith" + d, "inbox", Populate{Count: 40}},
		{"john.smith" + d, "sentitems", Populate{Count: 15}},
		{"maria.garcia" + d, "inbox", Populate{Count: 30}},
		{"maria.garcia" + d, "sentitems", Populate{Count: 10}},
		{"maria.garcia" + d, "archive", Populate{Count: 10}},
		{"wei.chen" + d, "inbox", Populate{Count: 25}},
		{"wei.chen" + d, "sentitems", Populate{Count: 10}},
		{"legal" + d, "inbox", Populate{Count: 20}},
	}
	for _, s := range plan {
		s.p.From, s.p.To = from, to
		if err := t.Populate(s.mailbox, s.folder, s.p); err != nil {
			return nil, fmt.Errorf("graphsim: building the demo tenant: %w", err)
		}
	}
	if err := t.AddOtherItems("maria.garcia"+d, from, to); err != nil {
		return nil, fmt.Errorf("graphsim: building the demo tenant: %w", err)
	}
	if fixturesDir != "" {
		if _, err := t.addFixtures("legal"+d, fixtures, fixturesDir, from, to); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// otherItems are the items beside mail that AddOtherItems puts in a
// mailbox, by folder and item class.
var otherItems = []struct {
	folder, class string
	count         int
}{
	// The compliance copies of Teams chats, in the hidden folder under
	// Conversation History where Exchange Online first kept them.
	{"Conversation History/Team Chat", "IPM.SkypeTeams.Message", 4},
	// Deleted items of Outlook's other features land in Deleted Items.
	{"deleteditems", "IPM.StickyNote", 1},
	{"deleteditems", "IPM.Task", 1},
	{"deleteditems", "IPM.Contact", 1},
	{"deleteditems", "IPM.Appointment", 1},
	// Outlook moves a meeting request to Deleted Items once answered;
	// requests and responses are mail.
	{"deleteditems", "IPM.Schedule.Meeting.Request", 1},
	{"deleteditems", "IPM.Schedule.Meeting.Resp.Pos", 1},
}

// AddOtherItems puts into a mailbox the items a real Exchange Online
// mailbox holds in its mail folders beside mail, where Exchange puts them
// (see otherItems), received over [from, to). Graph's message routes
// serve them as messages; their item class tells them apart.
func (t *Tenant) AddOtherItems(mailbox string, from, to time.Time) error {
	if _, err := t.FolderID(mailbox, "Conversation History/Team Chat"); errors.Is(err, ErrNotFound) {
		if _, err := t.CreateFolder(mailbox, "conversationhistory", "Team Chat", true); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	for _, o := range otherItems {
		if err := t.Populate(mailbox, o.folder, Populate{Count: o.count, From: from, To: to, Class: o.class}); err != nil {
			return err
		}
	}
	return nil
}
