package graphsim

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func directoryTenant(t *testing.T) *sim {
	s := newSim(t, Config{Seed: 3, Domain: "contoso.invalid"})
	for _, u := range []UserSpec{
		{UPN: "ann@contoso.invalid", Aliases: []string{"a.lias@contoso.invalid"}},
		{UPN: "bob@contoso.invalid", Mail: "robert@contoso.invalid"},
		{UPN: "shared@contoso.invalid", Kind: SharedMailbox},
		{UPN: "nobox@contoso.invalid", Kind: NoMailbox},
		{UPN: "onprem@contoso.invalid", Kind: OnPremisesMailbox},
		{UPN: "gone@contoso.invalid", Kind: InactiveMailbox},
	} {
		if _, err := s.tn.AddUser(u); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func TestTokenEndpoint(t *testing.T) {
	s := directoryTenant(t)
	c := s.tn.Credentials()
	good := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ClientID}, "client_secret": {c.ClientSecret}, "scope": {"https://graph.microsoft.com/.default"}}
	with := func(k, v string) url.Values {
		o := url.Values{}
		for kk, vv := range good {
			o[kk] = vv
		}
		o.Set(k, v)
		return o
	}
	cases := []struct {
		name, tenant string
		form         url.Values
		status       int
		errCode      string
		aadsts       int
	}{
		{"by domain", "contoso.invalid", good, 200, "", 0},
		{"wrong secret", c.TenantID, with("client_secret", "nope"), 401, "invalid_client", 7000215},
		{"unknown tenant", "other.invalid", good, 400, "invalid_request", 90002},
		{"unknown app", c.TenantID, with("client_id", "11111111-2222-3333-4444-555555555555"), 400, "unauthorized_client", 700016},
		{"scope without .default", c.TenantID, with("scope", "https://graph.microsoft.com/Mail.Read"), 400, "invalid_scope", 1002012},
		{"password grant not modelled", c.TenantID, with("grant_type", "password"), 400, "unsupported_grant_type", 70003},
		{"device code without a code", c.TenantID, with("grant_type", deviceCodeGrant), 400, "invalid_grant", 70000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := s.postForm("/"+tc.tenant+"/oauth2/v2.0/token", tc.form)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			if tc.status == 200 {
				var tr struct {
					TokenType   string `json:"token_type"`
					ExpiresIn   int    `json:"expires_in"`
					AccessToken string `json:"access_token"`
				}
				mustJSON(t, body, &tr)
				if tr.TokenType != "Bearer" || tr.ExpiresIn != 3600 || strings.Count(tr.AccessToken, ".") != 2 {
					t.Fatalf("token answer %s", body)
				}
				return
			}
			var e struct {
				Error       string `json:"error"`
				Description string `json:"error_description"`
				Codes       []int  `json:"error_codes"`
				TraceID     string `json:"trace_id"`
				Correlation string `json:"correlation_id"`
				Timestamp   string `json:"timestamp"`
			}
			mustJSON(t, body, &e)
			if e.Error != tc.errCode || len(e.Codes) != 1 || e.Codes[0] != tc.aadsts {
				t.Fatalf("got %s", body)
			}
			for _, want := range []string{"AADSTS", "Trace ID: " + e.TraceID, "Correlation ID: " + e.Correlation, "Timestamp: " + e.Timestamp} {
				if !strings.Contains(e.Description, want) {
					t.Fatalf("error_description %q lacks %q", e.Description, want)
				}
			}
		})
	}
}

func TestBearerTokens(t *testing.T) {
	s := directoryTenant(t)
	path := "/v1.0/users/ann@contoso.invalid"
	if status, _, body := s.get(path); status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	good := s.token
	s.token = ""
	status, h, body := s.get(path, "client-request-id: 4a1c0c2e-0000-4000-8000-000000000001")
	e := wantError(t, status, h, body, 401, "InvalidAuthenticationToken")
	if e.Error.InnerError.ClientRequestID != "4a1c0c2e-0000-4000-8000-000000000001" || h.Get("client-request-id") != "4a1c0c2e-0000-4000-8000-000000000001" {
		t.Fatalf("client-request-id not echoed: %s %v", body, h)
	}
	s.token = "eyJhbGciOiJub25lIn0.eyJ1dGkiOiJmb3JnZWQifQ."
	status, h, body = s.get(path)
	wantError(t, status, h, body, 401, "InvalidAuthenticationToken")

	s.token = good
	s.clk.Advance(time.Hour) // the token lives one hour on the tenant's clock
	status, h, body = s.get(path)
	wantError(t, status, h, body, 401, "InvalidAuthenticationToken")

	s.token = s.fetchToken()
	if status, _, body := s.get(path); status != 200 {
		t.Fatalf("fresh token refused: %d %s", status, body)
	}
	s.tn.RevokeAccessTokens()
	status, h, body = s.get(path)
	wantError(t, status, h, body, 401, "InvalidAuthenticationToken")
	s.token = s.fetchToken()
	if status, _, body := s.get(path); status != 200 {
		t.Fatalf("token issued after revocation refused: %d %s", status, body)
	}
}

func TestResolveUsers(t *testing.T) {
	s := directoryTenant(t)
	ann, _ := s.tn.User("ann@contoso.invalid")
	var u struct {
		ID, UserPrincipalName, Mail string
		ProxyAddresses              []string
	}
	for _, key := range []string{"ann@contoso.invalid", "ANN@Contoso.Invalid", ann.ID} {
		status, _, body := s.get("/v1.0/users/" + key + "?$select=id,userPrincipalName,mail,proxyAddresses")
		if status != 200 {
			t.Fatalf("%s: %d %s", key, status, body)
		}
		mustJSON(t, body, &u)
		if u.ID != ann.ID || u.Mail != "ann@contoso.invalid" || strings.Join(u.ProxyAddresses, ",") != "SMTP:ann@contoso.invalid,smtp:a.lias@contoso.invalid" {
			t.Fatalf("%s: %s", key, body)
		}
	}
	// The directory does not resolve aliases or a primary address that is not the UPN.
	for _, key := range []string{"a.lias@contoso.invalid", "robert@contoso.invalid", "nobody@contoso.invalid"} {
		status, h, body := s.get("/v1.0/users/" + key)
		wantError(t, status, h, body, 404, "Request_ResourceNotFound")
	}
	status, h, body := s.get("/v1.0/users/ann@contoso.invalid?$select=shoeSize")
	wantError(t, status, h, body, 400, "Request_BadRequest")

	filter := "/v1.0/users?$filter=" + url.QueryEscape("proxyAddresses/any(x:x eq 'smtp:A.LIAS@contoso.invalid')")
	status, h, body = s.get(filter + "&$count=true")
	wantError(t, status, h, body, 400, "Request_UnsupportedQuery")
	status, h, body = s.get(filter, "ConsistencyLevel: eventual")
	wantError(t, status, h, body, 400, "Request_UnsupportedQuery")
	status, _, body = s.get(filter+"&$count=true&$select=id,mail", "ConsistencyLevel: eventual")
	var list struct {
		Count int `json:"@odata.count"`
		Value []struct{ ID, Mail string }
	}
	mustJSON(t, body, &list)
	if status != 200 || list.Count != 1 || len(list.Value) != 1 || list.Value[0].ID != ann.ID {
		t.Fatalf("alias search: %d %s", status, body)
	}
	status, _, body = s.get("/v1.0/users?$filter="+url.QueryEscape("proxyAddresses/any(c:c eq 'smtp:nobody@contoso.invalid')")+"&$count=true", "ConsistencyLevel: eventual")
	mustJSON(t, body, &list)
	if status != 200 || list.Count != 0 || len(list.Value) != 0 {
		t.Fatalf("search for an unknown alias: %d %s", status, body)
	}

	// Mailbox routes: UPN, ID and primary SMTP address resolve; users
	// without an Exchange Online mailbox do not.
	for _, key := range []string{"robert@contoso.invalid", "bob@contoso.invalid", "shared@contoso.invalid", ann.ID} {
		if status, _, body := s.get("/v1.0/users/" + key + "/mailFolders/inbox"); status != 200 {
			t.Fatalf("%s: %d %s", key, status, body)
		}
	}
	for _, key := range []string{"nobox@contoso.invalid", "onprem@contoso.invalid", "gone@contoso.invalid"} {
		if status, _, body := s.get("/v1.0/users/" + key); status != 200 {
			t.Fatalf("user object of %s: %d %s", key, status, body)
		}
		status, h, body := s.get("/v1.0/users/" + key + "/mailFolders/inbox/messages/delta")
		wantError(t, status, h, body, 404, "MailboxNotEnabledForRESTAPI")
	}

	// An application access policy that leaves ann out.
	if err := s.tn.SetMailboxAccess(s.tn.Credentials().ClientID, "ann@contoso.invalid", false); err != nil {
		t.Fatal(err)
	}
	status, h, body = s.get("/v1.0/users/ann@contoso.invalid/mailFolders")
	wantError(t, status, h, body, 403, "ErrorAccessDenied")
	if status, _, body := s.get("/v1.0/users/bob@contoso.invalid/mailFolders"); status != 200 {
		t.Fatalf("other mailbox: %d %s", status, body)
	}
	// An app without mail or directory permissions.
	if err := s.tn.AddApp(AppSpec{ClientID: "app2", ClientSecret: "s2", Roles: []string{}}); err != nil {
		t.Fatal(err)
	}
	status, _, body = s.postForm("/contoso.invalid/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"app2"}, "client_secret": {"s2"}, "scope": {"https://graph.microsoft.com/.default"}})
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	mustJSON(t, body, &tr)
	s.token = tr.AccessToken
	status, h, body = s.get("/v1.0/users/bob@contoso.invalid/mailFolders")
	wantError(t, status, h, body, 403, "ErrorAccessDenied")
	status, h, body = s.get("/v1.0/users/bob@contoso.invalid")
	wantError(t, status, h, body, 403, "Authorization_RequestDenied")
}
