package graphsim

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

type tokenAnswer struct {
	Error        string `json:"error"`
	Codes        []int  `json:"error_codes"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	Scope        string `json:"scope"`
	DeviceCode   string `json:"device_code"`
	UserCode     string `json:"user_code"`
	Message      string `json:"message"`
}

func (s *sim) tokenCall(endpoint string, form url.Values) (int, tokenAnswer) {
	s.t.Helper()
	status, _, body := s.postForm("/"+s.tn.Credentials().TenantDomain+"/oauth2/v2.0/"+endpoint, form)
	var a tokenAnswer
	mustJSON(s.t, body, &a)
	return status, a
}

func wantAADSTS(t *testing.T, status int, a tokenAnswer, errCode string, code int) {
	t.Helper()
	if status != 400 || a.Error != errCode || len(a.Codes) != 1 || a.Codes[0] != code {
		t.Fatalf("got %d %+v, want %s AADSTS%d", status, a, errCode, code)
	}
}

func TestDeviceCodeAndDelegation(t *testing.T) {
	s := directoryTenant(t)
	if err := s.tn.AddApp(AppSpec{ClientID: "cli", ClientSecret: "unused", DisplayName: "collect", PublicClient: true}); err != nil {
		t.Fatal(err)
	}
	scope := "openid profile offline_access https://graph.microsoft.com/User.Read.All https://graph.microsoft.com/Mail.Read https://graph.microsoft.com/Mail.Read.Shared"
	start := func() string {
		status, a := s.tokenCall("devicecode", url.Values{"client_id": {"cli"}, "scope": {scope}})
		if status != 200 || a.DeviceCode == "" || a.UserCode == "" || !strings.Contains(a.Message, a.UserCode) {
			t.Fatalf("devicecode: %d %+v", status, a)
		}
		return a.DeviceCode
	}
	poll := func(code string) (int, tokenAnswer) {
		return s.tokenCall("token", url.Values{"grant_type": {deviceCodeGrant}, "client_id": {"cli"}, "device_code": {code}})
	}
	code := start()
	status, a := poll(code)
	wantAADSTS(t, status, a, "authorization_pending", 70016)
	// Approved after two pending polls of the code, the one above included.
	if err := s.tn.ApproveDeviceCodes("ann@contoso.invalid", 2); err != nil {
		t.Fatal(err)
	}
	status, a = poll(code)
	wantAADSTS(t, status, a, "authorization_pending", 70016)
	status, a = poll(code)
	if status != 200 || a.AccessToken == "" || a.RefreshToken == "" || a.IDToken == "" {
		t.Fatalf("approved: %d %+v", status, a)
	}
	status, again := poll(code)
	wantAADSTS(t, status, again, "invalid_grant", 70000)

	s.token = a.AccessToken
	var me struct{ UserPrincipalName string }
	status, _, body := s.get("/v1.0/me")
	mustJSON(t, body, &me)
	if status != 200 || me.UserPrincipalName != "ann@contoso.invalid" {
		t.Fatalf("/me: %d %s", status, body)
	}
	if status, _, body := s.get("/v1.0/me/mailFolders/inbox/messages/delta()"); status != 200 {
		t.Fatalf("own mailbox: %d %s", status, body)
	}
	status, h, body := s.get("/v1.0/users/bob@contoso.invalid/mailFolders/inbox")
	wantError(t, status, h, body, 403, "ErrorAccessDenied")
	if err := s.tn.GrantFullAccess("ann@contoso.invalid", "bob@contoso.invalid"); err != nil {
		t.Fatal(err)
	}
	if status, _, body := s.get("/v1.0/users/bob@contoso.invalid/mailFolders/inbox"); status != 200 {
		t.Fatalf("with Full Access: %d %s", status, body)
	}
	if status, _, body := s.get("/v1.0/users/bob@contoso.invalid"); status != 200 {
		t.Fatalf("directory with User.Read.All: %d %s", status, body)
	}

	// Refresh, then a revoked session.
	status, r := s.tokenCall("token", url.Values{"grant_type": {"refresh_token"}, "client_id": {"cli"}, "refresh_token": {a.RefreshToken}})
	if status != 200 || r.AccessToken == "" || r.AccessToken == a.AccessToken {
		t.Fatalf("refresh: %d %+v", status, r)
	}
	s.tn.RevokeRefreshTokens()
	status, r = s.tokenCall("token", url.Values{"grant_type": {"refresh_token"}, "client_id": {"cli"}, "refresh_token": {a.RefreshToken}})
	wantAADSTS(t, status, r, "invalid_grant", 50173)

	// Declined, expired, and not consented.
	s.tn.DenyDeviceCodes()
	status, a = poll(start())
	wantAADSTS(t, status, a, "authorization_declined", 70000)
	code = start()
	s.clk.Advance(16 * time.Minute)
	status, a = poll(code)
	wantAADSTS(t, status, a, "expired_token", 70020)
	_ = s.tn.ApproveDeviceCodes("ann@contoso.invalid", 0)
	status, d := s.tokenCall("devicecode", url.Values{"client_id": {"cli"}, "scope": {"https://graph.microsoft.com/Mail.ReadWrite"}})
	if status != 200 {
		t.Fatalf("%d %+v", status, d)
	}
	status, a = poll(d.DeviceCode)
	wantAADSTS(t, status, a, "invalid_grant", 65001)

	// A confidential app may not use the device code flow without its secret.
	status, a = s.tokenCall("devicecode", url.Values{"client_id": {s.tn.Credentials().ClientID}, "scope": {scope}})
	if status != 401 || a.Error != "invalid_client" {
		t.Fatalf("confidential app: %d %+v", status, a)
	}
}
