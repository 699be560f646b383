package graphsim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/internal/clock"
)

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// 100 mailboxes of 10,000 messages each must fit in a small heap: the
// tenant keeps a few dozen bytes per message and generates the rest.
func TestMemoryForAMillionMessages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a million messages")
	}
	before := heapInUse()
	tn := New(Config{Seed: 51, Clock: clock.NewFake(t0)})
	for i := 0; i < 100; i++ {
		mb := fmt.Sprintf("custodian%03d@sim.collect.invalid", i)
		if _, err := tn.AddUser(UserSpec{UPN: mb}); err != nil {
			t.Fatal(err)
		}
		if err := tn.Populate(mb, "inbox", Populate{Count: 10000, From: t0.AddDate(-2, 0, 0), To: t0, Large: 3}); err != nil {
			t.Fatal(err)
		}
	}
	after := heapInUse()
	used := int64(after) - int64(before)
	t.Logf("heap in use for 100 x 10,000 messages: %.1f MB (%.0f bytes a message)", float64(used)/(1<<20), float64(used)/1e6)
	if used > 128<<20 {
		t.Fatalf("the tenant needs %d MB for a million messages", used>>20)
	}
	// Still served and exact at that size.
	fs, err := tn.Folders("custodian042@sim.collect.invalid")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.WellKnownName == "inbox" && f.TotalCount != 10000 {
			t.Fatalf("inbox: %+v", f)
		}
	}
	id := tn.messageID(immutableID, 42, 9999, 0)
	if _, err := tn.WriteMIME("custodian042@sim.collect.invalid", id, io.Discard); err != nil {
		t.Fatal(err)
	}
	runtime.KeepAlive(tn)
}

func BenchmarkPopulate(b *testing.B) {
	for i := 0; i < b.N; i++ {
		tn := New(Config{Seed: 52, Clock: clock.NewFake(t0)})
		_, _ = tn.AddUser(UserSpec{UPN: "a@sim.collect.invalid"})
		if err := tn.Populate("a@sim.collect.invalid", "inbox", Populate{Count: 100000, From: t0.Add(-time.Hour * 24 * 365), To: t0}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDeltaRound measures one full delta round of a 10,000-message
// folder over HTTP, 100 items a page, with the fields collect selects.
func BenchmarkDeltaRound(b *testing.B) {
	tn := New(Config{Seed: 53, Clock: clock.NewFake(t0), Limits: Limits{WindowRequests: -1}})
	const mb = "a@sim.collect.invalid"
	_, _ = tn.AddUser(UserSpec{UPN: mb})
	_ = tn.Populate(mb, "inbox", Populate{Count: 10000, From: t0.AddDate(-1, 0, 0), To: t0})
	srv := httptest.NewServer(tn)
	defer srv.Close()
	tok := tokenFor(b, srv.URL, tn)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		for link := srv.URL + "/v1.0/users/" + mb + "/mailFolders/inbox/messages/delta?" + sel; link != ""; {
			req, _ := http.NewRequest(http.MethodGet, link, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Prefer", `odata.maxpagesize=100, IdType="ImmutableId"`)
			resp, err := srv.Client().Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var p deltaPage
			if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
				b.Fatal(err)
			}
			resp.Body.Close()
			n += len(p.Value)
			link = p.NextLink
		}
		if n != 10000 {
			b.Fatalf("%d items", n)
		}
	}
}

func tokenFor(b *testing.B, base string, tn *Tenant) string {
	c := tn.Credentials()
	resp, err := http.PostForm(base+"/"+c.TenantID+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {c.ClientID}, "client_secret": {c.ClientSecret},
		"scope": {"https://graph.microsoft.com/.default"},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil {
		b.Fatal(err)
	}
	return tr.AccessToken
}
