package entra

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/graph"
	"github.com/collect-ediscovery/collect/graph/graphsim"
	"github.com/collect-ediscovery/collect/internal/clock"
)

// The PEM files in testdata hold a throwaway self-signed test certificate
// and its key (plain, encrypted PKCS#8 PBES2/AES-256-CBC, and PBES1 3DES),
// made with openssl for these tests; they open nothing.

const testKeyPassword = "correct-horse"

type signInSim struct {
	tn    *graphsim.Tenant
	srv   *httptest.Server
	clk   *clock.Fake
	creds graphsim.Credentials

	mu    sync.Mutex
	forms []url.Values // token endpoint request bodies
}

func newSignInSim(t *testing.T) *signInSim {
	t.Helper()
	s := &signInSim{clk: clock.NewFake(time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC))}
	s.tn = graphsim.New(graphsim.Config{Seed: 3, Clock: s.clk})
	for _, u := range []string{"ann@sim.collect.invalid", "bob@sim.collect.invalid"} {
		if _, err := s.tn.AddUser(graphsim.UserSpec{UPN: u}); err != nil {
			t.Fatal(err)
		}
	}
	s.creds = s.tn.Credentials()
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token") {
			_ = r.ParseForm()
			s.mu.Lock()
			s.forms = append(s.forms, r.PostForm)
			s.mu.Unlock()
		}
		s.tn.ServeHTTP(w, r)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *signInSim) authority() Authority {
	return Authority{LoginURL: s.srv.URL, Tenant: s.creds.TenantID, ClientID: s.creds.ClientID, HTTPClient: s.srv.Client(), Clock: s.clk}
}

func (s *signInSim) lastForm() url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.forms[len(s.forms)-1]
}

// login runs DeviceLogin, advancing the fake clock whenever the client
// waits, until it returns.
func (s *signInSim) login(t *testing.T, a Authority) (prompt DeviceCodePrompt, account string, refresh string, polls int, err error) {
	t.Helper()
	type result struct {
		account, refresh string
		err              error
	}
	done := make(chan result, 1)
	go func() {
		tok, acct, err := DeviceLogin(context.Background(), a, func(p DeviceCodePrompt) { prompt = p })
		r := result{account: acct, err: err}
		if tok != nil {
			r.refresh = tok.RefreshToken
		}
		done <- r
	}()
	for {
		waiting := make(chan struct{})
		go func() { s.clk.BlockUntil(1); close(waiting) }()
		select {
		case r := <-done:
			return prompt, r.account, r.refresh, polls, r.err
		case <-waiting:
			polls++
			s.clk.Advance(5 * time.Second)
		}
	}
}

func TestDeviceLoginPendingThenApproved(t *testing.T) {
	s := newSignInSim(t)
	if err := s.tn.SetPublicClient(s.creds.ClientID, true); err != nil {
		t.Fatal(err)
	}
	if err := s.tn.ApproveDeviceCodes("ann@sim.collect.invalid", 2); err != nil {
		t.Fatal(err)
	}
	prompt, account, refresh, polls, err := s.login(t, s.authority())
	if err != nil {
		t.Fatal(err)
	}
	if prompt.UserCode == "" || !strings.HasSuffix(prompt.VerificationURI, "/devicelogin") {
		t.Errorf("prompt = %+v", prompt)
	}
	if account != "ann@sim.collect.invalid" || refresh == "" {
		t.Errorf("account %q, refresh token present %v", account, refresh != "")
	}
	if polls != 3 {
		t.Errorf("the client waited %d times, want 3 (two pending answers, then the approval)", polls)
	}
	f := s.lastForm()
	if f.Get("grant_type") != "urn:ietf:params:oauth:grant-type:device_code" || f.Get("client_secret") != "" {
		t.Errorf("poll form = %v", f)
	}

	// The refresh token, cached, gives silent access tokens with the delegated scopes.
	cache := TokenCache{Dir: t.TempDir()}
	if err := cache.Save(s.authority(), CachedSignIn{Account: account, RefreshToken: refresh}); err != nil {
		t.Fatal(err)
	}
	src, err := UserTokens(s.authority(), cache)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	info, err := InspectToken(tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if !info.Delegated || info.User != "ann@sim.collect.invalid" || !info.Has("Mail.Read.Shared") || !info.Has("User.Read.All") {
		t.Errorf("token info = %+v", info)
	}
	if got := s.lastForm().Get("scope"); !strings.Contains(got, "https://graph.microsoft.com/Mail.Read.Shared") || !strings.Contains(got, "offline_access") {
		t.Errorf("refresh scope = %q", got)
	}
	rec, err := cache.Load(s.authority())
	if err != nil {
		t.Fatal(err)
	}
	if rec.RefreshToken == refresh {
		t.Error("the rotated refresh token was not saved")
	}

	// Revoked: the next refresh says to sign in again.
	s.tn.RevokeRefreshTokens()
	_, err = src.Token()
	if graph.KindOf(err) != graph.KindLoginRequired || !strings.Contains(err.Error(), "AADSTS50173") || !strings.Contains(err.Error(), "ann@sim.collect.invalid") {
		t.Fatalf("after revocation: %v, want a sign-in required error naming the account and AADSTS50173", err)
	}
	if strings.Contains(err.Error(), rec.RefreshToken) {
		t.Fatal("the error carries the refresh token")
	}
}

func TestDeviceLoginDeclinedExpiredAndConfidentialApp(t *testing.T) {
	s := newSignInSim(t)
	// Without "Allow public client flows" the app needs a secret.
	_, _, _, _, err := s.login(t, s.authority())
	if graph.KindOf(err) != graph.KindPublicClientDisabled || !strings.Contains(err.Error(), "AADSTS7000218") {
		t.Fatalf("confidential app: %v, want public client flows off (AADSTS7000218)", err)
	}
	if err := s.tn.SetPublicClient(s.creds.ClientID, true); err != nil {
		t.Fatal(err)
	}
	s.tn.DenyDeviceCodes()
	_, _, _, _, err = s.login(t, s.authority())
	if graph.KindOf(err) != graph.KindDeviceCodeDeclined {
		t.Fatalf("declined: %v, want device code declined", err)
	}
	if err := s.tn.ApproveDeviceCodes("ann@sim.collect.invalid", 0); err != nil {
		t.Fatal(err)
	}
	s.tn.SetDeviceCodeTiming(5*time.Second, -1)
	_, _, _, _, err = s.login(t, s.authority())
	if graph.KindOf(err) != graph.KindDeviceCodeExpired || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired: %v, want device code expired", err)
	}
}

func TestDeviceLoginSlowsDownWhenAsked(t *testing.T) {
	clk := clock.NewFake(time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC))
	var mu sync.Mutex
	polls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/devicecode") {
			fmt.Fprint(w, `{"device_code":"dc","user_code":"ABC","verification_uri":"https://example.invalid/devicelogin","expires_in":900,"interval":5}`)
			return
		}
		mu.Lock()
		polls++
		n := polls
		mu.Unlock()
		if n == 1 {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"slow_down","error_description":"AADSTS70016: slow down"}`)
			return
		}
		fmt.Fprint(w, `{"token_type":"Bearer","access_token":"a.b.c","refresh_token":"rt","expires_in":3600}`)
	}))
	defer srv.Close()
	a := Authority{LoginURL: srv.URL, Tenant: "t", ClientID: "c", HTTPClient: srv.Client(), Clock: clk}
	done := make(chan error, 1)
	go func() {
		_, _, err := DeviceLogin(context.Background(), a, func(DeviceCodePrompt) {})
		done <- err
	}()
	count := func() int { mu.Lock(); defer mu.Unlock(); return polls }
	clk.BlockUntil(1)
	clk.Advance(5 * time.Second) // first poll: slow_down
	clk.BlockUntil(1)
	if count() != 1 {
		t.Fatalf("polls = %d", count())
	}
	clk.Advance(5 * time.Second) // not yet: the interval is now 10 s
	clk.BlockUntil(1)
	if count() != 1 {
		t.Fatalf("polled again after 5 s despite slow_down")
	}
	clk.Advance(5 * time.Second)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if count() != 2 {
		t.Fatalf("polls = %d", count())
	}
}

func TestTokenCacheRefusesFilesOthersCanRead(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	c := TokenCache{Dir: dir}
	a := Authority{LoginURL: "https://login.microsoftonline.com", Tenant: "contoso.onmicrosoft.com", ClientID: "app"}
	if _, err := c.Load(a); !errors.Is(err, ErrNotSignedIn) || graph.KindOf(err) != graph.KindLoginRequired {
		t.Fatalf("empty cache: %v, want not signed in, sign-in required", err)
	}
	if err := c.Save(a, CachedSignIn{Account: "ann@contoso.com", RefreshToken: "rt-1"}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(c.Path(a))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("cache file mode %v, want 0600", fi.Mode().Perm())
	}
	if di, _ := os.Stat(dir); di.Mode().Perm() != 0o700 {
		t.Errorf("cache folder mode %v, want 0700", di.Mode().Perm())
	}
	if rec, err := c.Load(a); err != nil || rec.RefreshToken != "rt-1" || rec.Account != "ann@contoso.com" {
		t.Fatalf("load: %+v %v", rec, err)
	}
	// Another tenant or app has its own file.
	b := a
	b.ClientID = "other"
	if c.Path(a) == c.Path(b) {
		t.Error("two apps share a cache file")
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660} {
		if err := os.Chmod(c.Path(a), mode); err != nil {
			t.Fatal(err)
		}
		_, err := c.Load(a)
		if graph.KindOf(err) != graph.KindTokenCacheUnsafe || !strings.Contains(err.Error(), "other users") {
			t.Errorf("mode %v: %v, want an unsafe token cache readable by other users", mode, err)
		}
		if err != nil && strings.Contains(err.Error(), "rt-1") {
			t.Error("the error carries the refresh token")
		}
	}
	if ok, err := c.Remove(a); !ok || err != nil {
		t.Fatalf("remove: %v %v", ok, err)
	}
	if ok, err := c.Remove(a); ok || err != nil {
		t.Fatalf("second remove: %v %v", ok, err)
	}
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fixtureCert(t *testing.T, pemData []byte) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(pemData)
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLoadCertificateFormats(t *testing.T) {
	plain, err := LoadCertificate(readFixture(t, "app.pem"), "")
	if err != nil {
		t.Fatal(err)
	}
	enc, err := LoadCertificate(readFixture(t, "app-enc.pem"), testKeyPassword)
	if err != nil {
		t.Fatalf("encrypted PKCS#8: %v", err)
	}
	if !enc.key.Equal(plain.key) || enc.Thumbprint() != plain.Thumbprint() || len(plain.Thumbprint()) != 40 {
		t.Error("the decrypted key differs from the plain one")
	}
	for _, c := range []struct{ file, password, want string }{
		{"app-enc.pem", "", "COLLECT_CERTIFICATE_PASSWORD"},
		{"app-enc.pem", "wrong", "not its password"},
		{"app-pbes1.pem", testKeyPassword, "cannot decrypt"},
	} {
		_, err := LoadCertificate(readFixture(t, c.file), c.password)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s with %q: %v, want %q", c.file, c.password, err, c.want)
		}
	}
	// A certificate alone, or a key that is not the certificate's.
	all := readFixture(t, "app.pem")
	certOnly := all[:strings.Index(string(all), "-----BEGIN PRIVATE KEY")]
	if _, err := LoadCertificate(certOnly, ""); err == nil || !strings.Contains(err.Error(), "no private key") {
		t.Errorf("certificate only: %v", err)
	}
}

func TestClientCertificateAssertion(t *testing.T) {
	s := newSignInSim(t)
	pemData := readFixture(t, "app.pem")
	cert, err := LoadCertificate(pemData, "")
	if err != nil {
		t.Fatal(err)
	}
	src, err := ClientCertificate(s.authority(), cert)
	if err != nil {
		t.Fatal(err)
	}
	// Not registered yet: AADSTS700027, certificate refused.
	_, err = src.Token()
	if graph.KindOf(err) != graph.KindCertificateRefused || !strings.Contains(err.Error(), "AADSTS700027") {
		t.Fatalf("unregistered certificate: %v, want certificate refused (AADSTS700027)", err)
	}
	if err := s.tn.AddCertificate(s.creds.ClientID, fixtureCert(t, pemData)); err != nil {
		t.Fatal(err)
	}
	tok, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	info, _ := InspectToken(tok.AccessToken)
	if info.Delegated || !info.Has("Mail.Read") || info.AppID != s.creds.ClientID {
		t.Errorf("token info = %+v", info)
	}
	f := s.lastForm()
	if f.Get("client_assertion_type") != jwtBearer || f.Get("client_secret") != "" || f.Get("scope") != GraphResource+"/.default" {
		t.Errorf("form = %v", f)
	}
	parts := strings.Split(f.Get("client_assertion"), ".")
	var header map[string]string
	var claims map[string]any
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	cb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if json.Unmarshal(hb, &header) != nil || json.Unmarshal(cb, &claims) != nil {
		t.Fatal("the assertion is not a JWT")
	}
	if header["alg"] != "RS256" || header["x5t"] == "" || header["x5t#S256"] == "" {
		t.Errorf("header = %v", header)
	}
	if claims["aud"] != s.authority().TokenURL() || claims["iss"] != s.creds.ClientID || claims["sub"] != s.creds.ClientID || claims["jti"] == "" {
		t.Errorf("claims = %v", claims)
	}
	if exp, nbf := claims["exp"].(float64), claims["nbf"].(float64); exp-nbf != assertionLifetime.Seconds() || int64(nbf) != s.clk.Now().Unix() {
		t.Errorf("nbf %v exp %v", nbf, exp)
	}
	// Every request signs a new assertion (a new jti).
	if _, err := src.Token(); err != nil {
		t.Fatal(err)
	}
	if s.lastForm().Get("client_assertion") == f.Get("client_assertion") {
		t.Error("an assertion was reused")
	}
}

// federatedJWT is a token as a CI identity provider would issue it; the
// simulator checks its shape, not its signature.
func federatedJWT(iss, sub, aud string, exp time.Time) string {
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "ci-key"})
	c, _ := json.Marshal(map[string]any{"iss": iss, "sub": sub, "aud": aud, "exp": exp.Unix(), "nbf": exp.Add(-10 * time.Minute).Unix(), "jti": sub + exp.String()})
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + ".c2lnbmF0dXJl"
}

func TestFederatedTokenFileIsReadAgain(t *testing.T) {
	s := newSignInSim(t)
	const iss, sub = "https://token.actions.githubusercontent.com", "repo:acme/matters:environment:production"
	if err := s.tn.AddFederatedCredential(s.creds.ClientID, graphsim.FederatedCredential{Issuer: iss, Subject: sub}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "oidc-token")
	src, err := FederatedToken(s.authority(), file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Token(); graph.KindOf(err) != graph.KindFederatedTokenFile || !strings.Contains(err.Error(), "COLLECT_FEDERATED_TOKEN_FILE") {
		t.Fatalf("missing file: %v, want an unusable federated token file", err)
	}
	write := func(tok string) {
		if err := os.WriteFile(file, []byte(tok+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	now := s.clk.Now()
	first := federatedJWT(iss, sub, graphsim.FederatedAudience, now.Add(5*time.Minute))
	write(first)
	if _, err := src.Token(); err != nil {
		t.Fatal(err)
	}
	if s.lastForm().Get("client_assertion") != first {
		t.Error("the file's token was not sent as the assertion")
	}
	// The CI's token expires; the runner has not replaced it yet.
	s.clk.Advance(20 * time.Minute)
	_, err = src.Token()
	if graph.KindOf(err) != graph.KindAssertionExpired || !strings.Contains(err.Error(), "AADSTS700024") {
		t.Fatalf("expired assertion: %v, want assertion expired (AADSTS700024)", err)
	}
	if strings.Contains(err.Error(), first) {
		t.Fatal("the error carries the assertion")
	}
	// Replaced: the next token request reads the new one.
	second := federatedJWT(iss, sub, graphsim.FederatedAudience, s.clk.Now().Add(5*time.Minute))
	write(second)
	if _, err := src.Token(); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	if s.lastForm().Get("client_assertion") != second {
		t.Error("the rotated token was not read")
	}
	// A token of another repository or audience matches no federated credential.
	for _, tok := range []string{
		federatedJWT(iss, "repo:evil/fork:ref:refs/heads/main", graphsim.FederatedAudience, s.clk.Now().Add(5*time.Minute)),
		federatedJWT(iss, sub, "api://something-else", s.clk.Now().Add(5*time.Minute)),
	} {
		write(tok)
		if _, err := src.Token(); graph.KindOf(err) != graph.KindNoFederatedCredential {
			t.Errorf("mismatched token: %v, want no federated credential", err)
		}
	}
}

// signInCodes are the AADSTS codes collect tells apart, with the kind of
// their fix, written out apart from the classifier they check.
var signInCodes = map[int]graph.Kind{
	65001: graph.KindConsentRequired, 90094: graph.KindConsentRequired, 90095: graph.KindConsentRequired,
	700016: graph.KindAppNotInTenant, 7000215: graph.KindSecretRefused, 7000222: graph.KindSecretExpired,
	7000218: graph.KindPublicClientDisabled, 50020: graph.KindForeignAccount, 700024: graph.KindAssertionExpired,
	700027: graph.KindCertificateRefused, 700023: graph.KindCertificateRefused,
	70021: graph.KindNoFederatedCredential, 700211: graph.KindNoFederatedCredential,
	700212: graph.KindNoFederatedCredential, 700213: graph.KindNoFederatedCredential,
	50173: graph.KindLoginRequired, 700082: graph.KindLoginRequired, 70043: graph.KindLoginRequired,
	50133: graph.KindLoginRequired, 70008: graph.KindLoginRequired,
	70000: graph.KindDeviceCodeDeclined, 70020: graph.KindDeviceCodeExpired, 90002: graph.KindTenantNotFound,
	50076: graph.KindMFARequired, 50079: graph.KindMFARequired, 50158: graph.KindMFARequired,
	53003: graph.KindConditionalAccess,
	50058: graph.KindSignInRefused, // any code collect does not tell apart
}

// TestSignInErrorsAreFacts drives every AADSTS code from the simulator's
// token endpoint: each is a *graph.Error of its kind with the code, the
// trace ID and Entra's own description, and never the secret.
func TestSignInErrorsAreFacts(t *testing.T) {
	s := newSignInSim(t)
	a := s.authority()
	src, err := ClientSecret(a, s.creds.ClientSecret)
	if err != nil {
		t.Fatal(err)
	}
	if len(KnownCodes()) != len(signInCodes)-1 {
		t.Errorf("the classifier knows %d codes, this test %d", len(KnownCodes()), len(signInCodes)-1)
	}
	for code, kind := range signInCodes {
		s.tn.FailSignIns(code)
		_, err := src.Token()
		var ge *graph.Error
		if !errors.As(err, &ge) {
			t.Fatalf("AADSTS%d: %v", code, err)
		}
		msg := err.Error()
		if ge.Kind != kind {
			t.Errorf("AADSTS%d: kind %v, want %v", code, ge.Kind, kind)
		}
		if ge.Code != fmt.Sprintf("AADSTS%d", code) || ge.RequestID == "" || !strings.Contains(msg, "[request-id "+ge.RequestID+"]") {
			t.Errorf("AADSTS%d: code %q trace %q in %q", code, ge.Code, ge.RequestID, msg)
		}
		// Entra's description without its code prefix and trace lines.
		if ge.Message == "" || strings.Contains(ge.Message, "Trace ID") || strings.HasPrefix(ge.Message, "AADSTS") {
			t.Errorf("AADSTS%d: message %q, want Entra's description alone", code, ge.Message)
		}
		if strings.Contains(msg, s.creds.ClientSecret) {
			t.Errorf("AADSTS%d: the secret is in the error", code)
		}
	}
	s.tn.FailSignIns(50058)
	if _, err := src.Token(); !strings.Contains(err.Error(), ": Simulated sign-in failure.") {
		t.Errorf("an unknown code keeps Entra's words: %v", err)
	}
	s.tn.FailSignIns(0)
	// A wrong secret, for real: the secret sent never shows.
	bad, _ := ClientSecret(a, "wrong-secret-value")
	_, err = bad.Token()
	if graph.KindOf(err) != graph.KindSecretRefused || !strings.Contains(err.Error(), "AADSTS7000215") || strings.Contains(err.Error(), "wrong-secret-value") {
		t.Fatalf("wrong secret: %v", err)
	}
}

func TestUserScopesCarryTheCloudsResource(t *testing.T) {
	a := Authority{Resource: "https://graph.microsoft.us"}
	got := strings.Join(a.UserScopes(), " ")
	want := "openid profile email offline_access https://graph.microsoft.us/User.Read https://graph.microsoft.us/User.Read.All " +
		"https://graph.microsoft.us/Mail.Read https://graph.microsoft.us/Mail.Read.Shared"
	if got != want {
		t.Errorf("scopes = %q", got)
	}
	if a.AppScope() != "https://graph.microsoft.us/.default" {
		t.Errorf("app scope = %q", a.AppScope())
	}
	if _, err := ClientSecret(Authority{LoginURL: "http://login.example.com", Tenant: "t", ClientID: "c"}, "s"); err == nil {
		t.Error("plain http to a remote login host was accepted")
	}
}

func TestSignInHandsOutItsFirstTokenOnce(t *testing.T) {
	s := newSignInSim(t)
	src, err := ClientSecret(s.authority(), s.creds.ClientSecret)
	if err != nil {
		t.Fatal(err)
	}
	primedSrc, info, err := SignIn(src)
	if err != nil {
		t.Fatal(err)
	}
	if info.Delegated || info.AppID != s.creds.ClientID || info.TenantID != s.creds.TenantID || !info.Has("User.Read.All") {
		t.Errorf("info = %+v", info)
	}
	requests := func() int64 { return s.tn.Counters().ByRoute[graphsim.RouteToken] }
	before := requests()
	first, err := primedSrc.Token()
	if err != nil || requests() != before {
		t.Fatalf("the first token was fetched again: %v, %d requests", err, requests()-before)
	}
	second, err := primedSrc.Token()
	if err != nil || requests() != before+1 || second.AccessToken == first.AccessToken {
		t.Fatalf("the second token did not come from the endpoint: %v", err)
	}
	// A failed sign-in is reported at once.
	s.tn.FailSignIns(65001)
	if _, _, err := SignIn(src); graph.KindOf(err) != graph.KindConsentRequired {
		t.Fatalf("SignIn with consent missing: %v, want consent required", err)
	}
}
