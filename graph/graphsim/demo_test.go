package graphsim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/internal/clock"
)

// fixturesDir is the shared corpus of real-world messages, next to the
// repository; tests that need it skip when it is absent.
func fixturesDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "corpus", "mail-fixtures")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("mail fixtures not found at %s (they live beside the repository): %v", dir, err)
	}
	return dir
}

func TestFixturesServedByteForByte(t *testing.T) {
	dir := fixturesDir(t)
	s, mb, _ := mailTenant(t, Config{Seed: 61}, 0)
	archive, _ := s.tn.FolderID(mb, "archive")
	n, err := s.tn.AddFixtures(mb, archive, dir)
	if err != nil || n == 0 {
		t.Fatalf("%d fixtures, %v", n, err)
	}
	var files [][]byte
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.EqualFold(filepath.Ext(p), ".eml") {
			b, _ := os.ReadFile(p)
			files = append(files, b)
		}
		return nil
	})
	if len(files) != n {
		t.Fatalf("%d fixtures added, %d files", n, len(files))
	}
	items, _, _, _ := s.deltaRound("/v1.0/users/"+mb+"/mailFolders/archive/messages/delta?"+sel, immutable, "Prefer: odata.maxpagesize=100")
	if len(items) != n {
		t.Fatalf("delta lists %d of %d fixtures", len(items), n)
	}
	for i, it := range items {
		status, _, body := s.get("/v1.0/users/" + mb + "/messages/" + esc(it["id"].(string)) + "/$value")
		if status != 200 || !bytes.Equal(body, files[i]) {
			t.Fatalf("fixture %d: %d, %d bytes, want %d", i, status, len(body), len(files[i]))
		}
	}
}

func TestDemoTenant(t *testing.T) {
	clk := clock.NewFake(time.Date(2025, 1, 15, 12, 0, 0, 0, time.UTC))
	dir := ""
	if _, err := os.Stat(filepath.Join("..", "..", "..", "shared", "corpus", "mail-fixtures")); err == nil {
		dir = filepath.Join("..", "..", "..", "shared", "corpus", "mail-fixtures")
	}
	tn, err := Demo(Config{Clock: clk}, dir)
	if err != nil {
		t.Fatal(err)
	}
	c := tn.Credentials()
	if c != (Credentials{TenantID: DemoTenantID, TenantDomain: DemoTenantDomain, ClientID: DemoClientID, ClientSecret: DemoClientSecret}) {
		t.Fatalf("credentials %+v", c)
	}
	s := serveSim(t, tn, clk)
	var list struct {
		Value []struct{ UserPrincipalName string }
	}
	status, _, body := s.get("/v1.0/users?$filter="+url.QueryEscape("proxyAddresses/any(x:x eq 'smtp:jdoe@demo.collect.invalid')")+"&$count=true", "ConsistencyLevel: eventual")
	mustJSON(t, body, &list)
	if status != 200 || len(list.Value) != 1 || list.Value[0].UserPrincipalName != "jane.doe@demo.collect.invalid" {
		t.Fatalf("jdoe alias: %d %s", status, body)
	}
	total := 0
	for _, u := range []string{"jane.doe", "john.smith", "maria.garcia", "wei.chen", "legal"} {
		fs, err := tn.Folders(u + "@demo.collect.invalid")
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			refs, _ := tn.Messages(u+"@demo.collect.invalid", f.ID)
			for _, r := range refs {
				if r.Received.Year() < 2023 || r.Received.Year() > 2024 {
					t.Fatalf("%s: message received %v", u, r.Received)
				}
			}
			total += len(refs)
		}
	}
	if total < 250 || total > 600 {
		t.Fatalf("demo holds %d messages", total)
	}
	for _, u := range []string{"contractor", "old.timer"} {
		status, h, body := s.get("/v1.0/users/" + u + "@demo.collect.invalid/mailFolders/inbox/messages/delta")
		wantError(t, status, h, body, 404, "MailboxNotEnabledForRESTAPI")
	}
	if _, err := tn.FolderID("jane.doe@demo.collect.invalid", "Inbox/Projects/Globex"); err != nil {
		t.Fatal(err)
	}
	// Items beside mail, where Exchange keeps them.
	classes := map[string]int{}
	for _, folder := range []string{"Conversation History/Team Chat", "deleteditems"} {
		refs, err := tn.Messages("maria.garcia@demo.collect.invalid", folder)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range refs {
			classes[r.ItemClass]++
		}
	}
	for _, c := range []string{"IPM.SkypeTeams.Message", "IPM.StickyNote", "IPM.Task", "IPM.Contact", "IPM.Appointment", "IPM.Schedule.Meeting.Request"} {
		if classes[c] == 0 {
			t.Errorf("no %s item in maria.garcia@'s Team Chat or Deleted Items: %v", c, classes)
		}
	}
	if dir != "" {
		refs, err := tn.Messages("legal@demo.collect.invalid", "Inbox/Fixtures")
		if err != nil || len(refs) == 0 {
			t.Fatalf("fixtures in the demo: %d, %v", len(refs), err)
		}
	}
	// The same demo every time.
	tn2, _ := Demo(Config{Clock: clk}, "")
	a, _ := tn.Messages("wei.chen@demo.collect.invalid", "inbox")
	b, _ := tn2.Messages("wei.chen@demo.collect.invalid", "inbox")
	if len(a) != len(b) || a[3] != b[3] {
		t.Fatal("two demo tenants differ")
	}
}

func TestSimControlOverHTTP(t *testing.T) {
	s, mb, inbox := mailTenant(t, Config{Seed: 62}, 4)
	post := func(op string, v any) (int, []byte) {
		b, _ := json.Marshal(v)
		resp, err := s.client.Post(s.srv.URL+"/_sim/"+op, "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out bytes.Buffer
		_, _ = out.ReadFrom(resp.Body)
		return resp.StatusCode, out.Bytes()
	}
	status, body := post("deliver", map[string]any{"mailbox": mb, "folder": "inbox", "subject": "over http"})
	var ref struct{ ID, ImmutableID string }
	mustJSON(t, body, &ref)
	if status != 200 || ref.ID == "" {
		t.Fatalf("deliver: %d %s", status, body)
	}
	if status, body := post("create-folder", map[string]any{"mailbox": mb, "parent": "inbox", "name": "Hold"}); status != 200 {
		t.Fatalf("create-folder: %d %s", status, body)
	}
	if status, body := post("move", map[string]any{"mailbox": mb, "id": ref.ID, "folder": "Inbox/Hold"}); status != 200 {
		t.Fatalf("move: %d %s", status, body)
	}
	if status, body := post("delete", map[string]any{"mailbox": mb, "id": ref.ImmutableID}); status != 200 {
		t.Fatalf("delete: %d %s", status, body)
	}
	if status, _ := post("delete", map[string]any{"mailbox": mb, "id": ref.ImmutableID}); status != 404 {
		t.Fatalf("deleting twice: %d", status)
	}
	if status, body := post("faults", map[string]any{"mailbox": mb, "faults": []map[string]any{{"kind": "server-error", "route": "mailFolder"}}}); status != 200 {
		t.Fatalf("faults: %d %s", status, body)
	}
	st, h, b := s.get("/v1.0/users/" + mb + "/mailFolders/inbox")
	wantError(t, st, h, b, 500, "generalException")
	if status, _ := post("faults", map[string]any{"mailbox": mb, "faults": []map[string]any{{"kind": "meteor"}}}); status != 400 {
		t.Fatalf("unknown fault: %d", status)
	}
	if status, body := post("advance", map[string]any{"by": "2h"}); status != 200 || !s.clk.Now().Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("advance: %d %s", status, body)
	}
	if status, body := post("revoke-tokens", nil); status != 200 {
		t.Fatalf("revoke: %d %s", status, body)
	}
	st, h, b = s.get("/v1.0/users/" + mb + "/mailFolders/inbox")
	wantError(t, st, h, b, 401, "InvalidAuthenticationToken")
	resp, err := s.client.Get(s.srv.URL + "/_sim/counters")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var c struct {
		Requests  int64
		Mailboxes map[string]struct{ Requests, Throttled int64 }
	}
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatal(err)
	}
	if c.Mailboxes[mb].Requests != 1 || c.Requests != 3 {
		t.Fatalf("counters over HTTP: %+v", c)
	}
	refs, _ := s.tn.Messages(mb, inbox)
	if len(refs) != 4 {
		t.Fatalf("%d messages left in the inbox", len(refs))
	}
}
