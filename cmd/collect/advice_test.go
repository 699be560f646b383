package main

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/collect-ediscovery/collect/graph"
	"github.com/collect-ediscovery/collect/graph/entra"
	"github.com/collect-ediscovery/collect/graph/graphsim"
	"github.com/collect-ediscovery/collect/plan"
)

// sentenceBreak is the end of a sentence followed by another one.
var sentenceBreak = regexp.MustCompile(`[.!?;]\s+[A-Z]|[.!?]\s`)

// checkOneSentence fails unless advice is one whole sentence with every
// fact it names filled in.
func checkOneSentence(t *testing.T, what, advice string) {
	t.Helper()
	switch {
	case advice == "":
		t.Errorf("%s: no advice", what)
	case !strings.HasSuffix(advice, "."):
		t.Errorf("%s: advice %q does not end a sentence", what, advice)
	case advice[0] < 'A' || advice[0] > 'Z':
		t.Errorf("%s: advice %q does not start a sentence", what, advice)
	case sentenceBreak.MatchString(strings.TrimSuffix(advice, ".")):
		t.Errorf("%s: advice %q is more than one sentence", what, advice)
	case strings.Contains(advice, "  ") || strings.Contains(advice, " .") || strings.Contains(advice, " ,"):
		t.Errorf("%s: advice %q has a fact missing", what, advice)
	}
}

var adviceCases = map[string]adviceFacts{
	"app": {Auth: "client_secret", Tenant: "t-1", ClientID: "c-1", Mailbox: "ann@contoso.example",
		ConsentURL: "https://login.example/t-1/adminconsent?client_id=c-1"},
	"person": {Auth: "device_code", Delegated: true, User: "bob@contoso.example", Tenant: "t-1", ClientID: "c-1",
		Mailbox: "ann@contoso.example", ConsentURL: "https://login.example/t-1/adminconsent?client_id=c-1"},
	"certificate":   {Auth: "client_certificate", Tenant: "t-1", ClientID: "c-1", RequestID: "rid-9"},
	"nothing known": {},
}

// TestEveryKindHasOneAdviceSentence: each kind of Graph or sign-in error
// has its own entry in the advice table, one sentence whatever facts are
// known, and the message for such an error says it exactly once, after
// the facts.
func TestEveryKindHasOneAdviceSentence(t *testing.T) {
	for _, k := range graph.Kinds() {
		if _, ok := adviceTable[k]; !ok {
			t.Errorf("no advice for %v", k)
		}
		for name, f := range adviceCases {
			what := fmt.Sprintf("%v, %s", k, name)
			advice := adviceFor(k, f)
			checkOneSentence(t, what, advice)
			err := fmt.Errorf("resolve mailbox: %w", &graph.Error{Op: "open mailbox", Kind: k, Status: 403,
				Code: "SomeCode", Message: "What the server said.", RequestID: "rid-1"})
			msg := problem(err, f)
			withID := f
			if withID.RequestID == "" {
				withID.RequestID = "rid-1" // the error's, as the message uses it
			}
			if n := strings.Count(msg, adviceFor(k, withID)); n != 1 {
				t.Errorf("%s: the message says its advice %d times: %q", what, n, msg)
			}
			if !strings.HasPrefix(msg, "Resolve mailbox: open mailbox: ") || !strings.Contains(msg, "SomeCode") || !strings.Contains(msg, "[request-id rid-1]") {
				t.Errorf("%s: the message lost its facts: %q", what, msg)
			}
		}
	}
	// The facts that make the advice actionable are in it.
	for _, c := range []struct {
		kind  graph.Kind
		facts string
		want  []string
	}{
		{graph.KindAccessDenied, "app", []string{"ann@contoso.example", "application access policy", "-AppId c-1", "24 hours"}},
		{graph.KindAccessDenied, "person", []string{"grant bob@contoso.example Full Access delegation on ann@contoso.example", "24 hours"}},
		{graph.KindMailboxNotEnabled, "app", []string{"ann@contoso.example", "on-premises", "-target"}},
		{graph.KindNotFound, "app", []string{"ann@contoso.example", "smtp: proxy addresses"}},
		{graph.KindQuotaExceeded, "app", []string{"ann@contoso.example", "quota"}},
		{graph.KindConsentRequired, "app", []string{"grant admin consent at https://login.example/t-1/adminconsent?client_id=c-1", "app c-1"}},
		{graph.KindSecretRefused, "app", []string{"Value (not the Secret ID)", "app c-1"}},
		{graph.KindLoginRequired, "person", []string{"run collect login", "tenant t-1"}},
		{graph.KindAssertionExpired, "certificate", []string{"clock"}},
		{graph.KindAssertionExpired, "app", []string{"COLLECT_FEDERATED_TOKEN_FILE", "fresh token"}},
		{graph.KindOther, "certificate", []string{"request ID"}},
	} {
		advice := adviceFor(c.kind, adviceCases[c.facts])
		for _, w := range c.want {
			if !strings.Contains(advice, w) {
				t.Errorf("%v, %s: %q does not say %q", c.kind, c.facts, advice, w)
			}
		}
	}
	// collect's own errors say what to do themselves: no advice is added.
	if a := advise(fmt.Errorf("auth = \"client_secret\" needs COLLECT_CLIENT_SECRET"), adviceCases["app"]); a != "" {
		t.Errorf("advice %q for an error that is not Graph's", a)
	}
}

// TestEverySignInErrorHasOneAdviceSentence drives each AADSTS code collect
// tells apart, and one it does not, from the simulator's token endpoint,
// and the sign-in errors collect finds itself: each message holds the
// AADSTS code, the trace ID and its advice once.
func TestEverySignInErrorHasOneAdviceSentence(t *testing.T) {
	tn := graphsim.New(graphsim.Config{Seed: 9})
	srv := httptest.NewServer(tn)
	defer srv.Close()
	creds := tn.Credentials()
	a := entra.Authority{LoginURL: srv.URL, Tenant: creds.TenantID, ClientID: creds.ClientID, HTTPClient: srv.Client()}
	f := adviceFacts{Auth: "client_secret", Tenant: a.Tenant, ClientID: a.ClientID, ConsentURL: a.AdminConsentURL()}
	src, err := entra.ClientSecret(a, creds.ClientSecret)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[graph.Kind]bool{}
	for _, code := range append(entra.KnownCodes(), 50058) {
		tn.FailSignIns(code)
		_, err := src.Token()
		what := fmt.Sprintf("AADSTS%d", code)
		k := graph.KindOf(err)
		seen[k] = true
		advice := advise(err, f)
		checkOneSentence(t, what, advice)
		msg := problem(fmt.Errorf("cannot sign in to tenant %s: %w", a.Tenant, err), f)
		if n := strings.Count(msg, advice); n != 1 {
			t.Errorf("%s: advice said %d times in %q", what, n, msg)
		}
		if !strings.Contains(msg, what) || !strings.Contains(msg, "[request-id ") {
			t.Errorf("%s: %q lacks the code or the trace ID", what, msg)
		}
		if k == graph.KindConsentRequired && !strings.Contains(msg, a.AdminConsentURL()) {
			t.Errorf("%s: %q lacks the admin consent URL", what, msg)
		}
		if strings.Contains(msg, creds.ClientSecret) {
			t.Errorf("%s: the secret is in the message", what)
		}
	}
	tn.FailSignIns(0)

	// Found by collect before Entra is asked: no sign-in cached, a cache
	// others can read, a CI token file that is not there.
	cache := entra.TokenCache{Dir: t.TempDir()}
	user, err := entra.UserTokens(a, cache)
	if err != nil {
		t.Fatal(err)
	}
	_, errNone := user.Token()
	if err := cache.Save(a, entra.CachedSignIn{Account: "ann@sim.collect.invalid", RefreshToken: "rt"}); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(cache.Path(a), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errUnsafe := user.Token()
	fed, err := entra.FederatedToken(a, filepath.Join(t.TempDir(), "no-such-token"))
	if err != nil {
		t.Fatal(err)
	}
	_, errFile := fed.Token()
	for want, err := range map[graph.Kind]error{graph.KindLoginRequired: errNone, graph.KindTokenCacheUnsafe: errUnsafe,
		graph.KindFederatedTokenFile: errFile} {
		if graph.KindOf(err) != want {
			t.Errorf("%v: kind %v, want %v", err, graph.KindOf(err), want)
			continue
		}
		seen[want] = true
		advice := advise(err, f)
		checkOneSentence(t, want.String(), advice)
		if n := strings.Count(problem(err, f), advice); n != 1 {
			t.Errorf("%v: advice said %d times", want, n)
		}
	}
	for _, k := range graph.Kinds() {
		if k >= graph.KindConsentRequired && !seen[k] {
			t.Errorf("no sign-in error of kind %v was driven", k)
		}
	}
}

// TestPlanErrorSaysItsAdviceOnce renders a plan whose mailbox Graph
// refused: the facts once, the delegation advice once, in one message.
func TestPlanErrorSaysItsAdviceOnce(t *testing.T) {
	ge := &graph.Error{Op: "open mailbox", Kind: graph.KindAccessDenied, Status: 403, Code: "ErrorAccessDenied",
		Message: "Access is denied. Check credentials and try again.", RequestID: "rid-403"}
	p := &plan.Plan{
		Mailboxes: []*plan.Mailbox{{Addr: "custodian.ann.mailbox.primary", Email: "ann@contoso.example",
			Error: &plan.Problem{Summary: "Cannot read mailbox ann@contoso.example"}}},
		Errors: []plan.Problem{{Addr: "custodian.ann.mailbox.primary", Summary: "Cannot read mailbox ann@contoso.example",
			Detail: ge.Error(), Kind: ge.Kind, Mailbox: "ann@contoso.example", Code: ge.Code, RequestID: ge.RequestID, FailedScope: true}},
	}
	var out, errs bytes.Buffer
	renderPlan(&streams{stdout: &out, stderr: &errs, advice: adviceCases["person"]}, p)
	got := errs.String()
	for _, c := range []struct {
		what string
		n    int
	}{
		{"Error: Cannot read mailbox ann@contoso.example", 1},
		{"Full Access delegation", 1},
		{"24 hours", 1},
		{"rid-403", 1},
		{"ErrorAccessDenied", 1},
	} {
		if n := strings.Count(got, c.what); n != c.n {
			t.Errorf("%q appears %d times, want %d:\n%s", c.what, n, c.n, got)
		}
	}
}
