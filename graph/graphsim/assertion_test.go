package graphsim

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"
)

type testCert struct {
	cert *x509.Certificate
	key  *rsa.PrivateKey
}

func newTestCert(t *testing.T) testCert {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "collect test"},
		NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(365 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return testCert{cert: c, key: key}
}

// sign makes a client assertion; edit changes header and claims first.
func (c testCert) sign(t *testing.T, aud, clientID string, now time.Time, edit func(h, cl map[string]any)) string {
	t.Helper()
	s256 := sha256.Sum256(c.cert.Raw)
	h := map[string]any{"alg": "RS256", "typ": "JWT", "x5t#S256": base64.RawURLEncoding.EncodeToString(s256[:])}
	cl := map[string]any{"aud": aud, "iss": clientID, "sub": clientID, "jti": "j-" + now.String(),
		"nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
	if edit != nil {
		edit(h, cl)
	}
	hb, _ := json.Marshal(h)
	cb, _ := json.Marshal(cl)
	in := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	d := sha256.Sum256([]byte(in))
	sig, err := rsa.SignPKCS1v15(rand.Reader, c.key, crypto.SHA256, d[:])
	if err != nil {
		t.Fatal(err)
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestCertificateAssertionsAreChecked(t *testing.T) {
	s := newSim(t, Config{Seed: 5})
	c := s.tn.Credentials()
	cert, other := newTestCert(t), newTestCert(t)
	if err := s.tn.AddCertificate(c.ClientID, cert.cert); err != nil {
		t.Fatal(err)
	}
	aud := s.srv.URL + "/" + c.TenantDomain + "/oauth2/v2.0/token"
	call := func(assertion string) (int, tokenAnswer) {
		return s.tokenCall("token", url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ClientID},
			"scope": {"https://graph.microsoft.com/.default"}, "client_assertion": {assertion},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}})
	}
	status, a := call(cert.sign(t, aud, c.ClientID, s.clk.Now(), nil))
	if status != 200 || a.AccessToken == "" {
		t.Fatalf("valid assertion: %d %+v", status, a)
	}
	// The issued token is app-only, with the app's roles.
	parts := strings.Split(a.AccessToken, ".")
	cb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct {
		Roles []string `json:"roles"`
		SCP   string   `json:"scp"`
	}
	mustJSON(t, cb, &claims)
	if len(claims.Roles) == 0 || claims.SCP != "" {
		t.Errorf("claims = %+v", claims)
	}
	for _, tc := range []struct {
		name      string
		assertion string
		code      int
	}{
		{"unregistered certificate", other.sign(t, aud, c.ClientID, s.clk.Now(), nil), 700027},
		{"signed by another key", other.sign(t, aud, c.ClientID, s.clk.Now(), func(h, _ map[string]any) {
			s256 := sha256.Sum256(cert.cert.Raw)
			h["x5t#S256"] = base64.RawURLEncoding.EncodeToString(s256[:])
		}), 700027},
		{"another audience", cert.sign(t, "https://login.example.invalid/x/oauth2/v2.0/token", c.ClientID, s.clk.Now(), nil), 700023},
		{"issuer is not the client", cert.sign(t, aud, c.ClientID, s.clk.Now(), func(_, cl map[string]any) { cl["sub"] = "someone" }), 700021},
		{"expired", cert.sign(t, aud, c.ClientID, s.clk.Now().Add(-time.Hour), nil), 700024},
		{"not yet valid", cert.sign(t, aud, c.ClientID, s.clk.Now().Add(time.Hour), nil), 700024},
		{"not a JWT", "not-a-jwt", 50027},
	} {
		status, a := call(tc.assertion)
		if status < 400 || len(a.Codes) != 1 || a.Codes[0] != tc.code {
			t.Errorf("%s: %d %+v, want AADSTS%d", tc.name, status, a, tc.code)
		}
	}
}

func TestSignInErrorsOnDemandAndDeviceTiming(t *testing.T) {
	s := newSim(t, Config{Seed: 5})
	c := s.tn.Credentials()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ClientID}, "client_secret": {c.ClientSecret},
		"scope": {"https://graph.microsoft.com/.default"}}
	for _, code := range []int{65001, 90094, 700016, 7000215, 50020, 700024, 50173, 12345} {
		s.tn.FailSignIns(code)
		status, a := s.tokenCall("token", form)
		if status < 400 || len(a.Codes) != 1 || a.Codes[0] != code || a.Error == "" {
			t.Errorf("AADSTS%d: %d %+v", code, status, a)
		}
	}
	s.tn.FailSignIns(0)
	if status, a := s.tokenCall("token", form); status != 200 || a.AccessToken == "" {
		t.Fatalf("after FailSignIns(0): %d %+v", status, a)
	}

	if _, err := s.tn.AddUser(UserSpec{UPN: "ann@sim.collect.invalid"}); err != nil {
		t.Fatal(err)
	}
	if err := s.tn.SetPublicClient(c.ClientID, true); err != nil {
		t.Fatal(err)
	}
	s.tn.SetDeviceCodeTiming(2*time.Second, -1)
	status, _, body := s.postForm("/"+c.TenantID+"/oauth2/v2.0/devicecode", url.Values{"client_id": {c.ClientID}, "scope": {"openid offline_access Mail.Read"}})
	var dc struct {
		DeviceCode string `json:"device_code"`
		Interval   int    `json:"interval"`
		ExpiresIn  int    `json:"expires_in"`
	}
	mustJSON(t, body, &dc)
	if status != 200 || dc.Interval != 2 || dc.ExpiresIn != 0 {
		t.Fatalf("device code: %d %+v", status, dc)
	}
	if err := s.tn.ApproveDeviceCodes("ann@sim.collect.invalid", 0); err != nil {
		t.Fatal(err)
	}
	st, a := s.tokenCall("token", url.Values{"grant_type": {deviceCodeGrant}, "client_id": {c.ClientID}, "device_code": {dc.DeviceCode}})
	wantAADSTS(t, st, a, "expired_token", 70020)
}
