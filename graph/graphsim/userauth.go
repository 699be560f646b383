package graphsim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// The user (delegated) flows: device code sign-in and refresh tokens.

const deviceCodeGrant = "urn:ietf:params:oauth:grant-type:device_code"

var defaultScopes = []string{"openid", "profile", "email", "offline_access", "User.Read", "User.Read.All", "Mail.Read", "Mail.Read.Shared"}

const (
	deviceCodeLifetime   = 15 * time.Minute
	refreshTokenLifetime = 90 * 24 * time.Hour
)

type deviceCode struct {
	code     string
	userCode string
	app      *app
	scopes   []string
	exp      time.Time
	polls    int
	redeemed bool
}

type refreshToken struct {
	seq     uint64
	app     *app
	user    *user
	scopes  []string
	exp     time.Time
	revoked bool
}

// ApproveDeviceCodes makes device code sign-ins succeed as user once the
// client has polled a code more than pending times, counting from the
// code's creation (those polls answer authorization_pending).
// Until it is called, sign-ins stay pending until they expire.
func (t *Tenant) ApproveDeviceCodes(user string, pending int) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	u, ok := t.byKey[strings.ToLower(user)]
	if !ok {
		return fmt.Errorf("graphsim: no user %q: %w", user, ErrNotFound)
	}
	if u.Kind == SharedMailbox {
		return fmt.Errorf("graphsim: %s is a shared mailbox; nobody signs in as it", user)
	}
	t.approver, t.approveAfter, t.denyDevice = u, pending, false
	return nil
}

// DenyDeviceCodes makes the user decline every device code sign-in.
func (t *Tenant) DenyDeviceCodes() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.approver, t.denyDevice = nil, true
}

// RevokeRefreshTokens makes every refresh token issued so far answer
// invalid_grant (AADSTS50173), as a password reset or a revoked session does.
func (t *Tenant) RevokeRefreshTokens() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range t.refreshes {
		r.revoked = true
	}
}

// normalizeScopes strips the Graph resource from scope names.
func normalizeScopes(s string) []string {
	var out []string
	for _, f := range strings.Fields(s) {
		f = strings.TrimPrefix(f, graphResource+"/")
		if f == ".default" {
			continue
		}
		out = append(out, f)
	}
	return out
}

func (t *Tenant) serveDeviceCode(q *request, tenant string) {
	if q.r.Method != http.MethodPost {
		q.entraError(http.StatusMethodNotAllowed, "invalid_request", 900561, "The endpoint only accepts POST requests.")
		return
	}
	if !eq(tenant, t.cfg.TenantID) && !eq(tenant, t.cfg.Domain) && !eq(tenant, "organizations") {
		q.entraError(http.StatusBadRequest, "invalid_request", 90002, fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
		return
	}
	if err := q.r.ParseForm(); err != nil {
		q.entraError(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
		return
	}
	a, ok := t.authenticateClient(q, true)
	if !ok {
		return
	}
	scopes := normalizeScopes(q.r.PostForm.Get("scope"))
	if len(scopes) == 0 {
		q.entraError(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
		return
	}
	interval, life := t.deviceTiming()
	t.mu.Lock()
	t.tokenSeq++
	n := t.tokenSeq
	dc := &deviceCode{
		code:     base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("DAQABAAEAAAD%016x%016x", mix(uint64(t.cfg.Seed), n, 21), mix(uint64(t.cfg.Seed), n, 22)))),
		userCode: strings.ToUpper(fmt.Sprintf("%09x", mix(uint64(t.cfg.Seed), n, 23)%0xfffffffff)),
		app:      a, scopes: scopes, exp: t.now().Add(life),
	}
	t.deviceCodes[dc.code] = dc
	t.mu.Unlock()
	uri := q.base() + "/devicelogin"
	q.writeJSON(http.StatusOK, jobj{
		{"user_code", dc.userCode},
		{"device_code", dc.code},
		{"verification_uri", uri},
		{"expires_in", int(life.Seconds())},
		{"interval", interval},
		{"message", fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code %s to authenticate.", uri, dc.userCode)},
	})
}

func (t *Tenant) redeemDeviceCode(q *request, a *app, code string) {
	t.mu.Lock()
	dc := t.deviceCodes[code]
	switch {
	case dc == nil || dc.app != a:
		t.mu.Unlock()
		q.entraError(http.StatusBadRequest, "invalid_grant", 70000, "Provided grant is invalid or malformed.")
		return
	case dc.redeemed:
		t.mu.Unlock()
		q.entraError(http.StatusBadRequest, "invalid_grant", 70000, "The provided device code has already been redeemed.")
		return
	case !t.now().Before(dc.exp):
		t.mu.Unlock()
		q.entraError(http.StatusBadRequest, "expired_token", 70020, "The provided value for the input parameter 'device_code' is not valid. This device code has expired.")
		return
	case t.denyDevice:
		t.mu.Unlock()
		q.entraError(http.StatusBadRequest, "authorization_declined", 70000, "The user denied the authorization request.")
		return
	}
	dc.polls++
	if t.approver == nil || dc.polls <= t.approveAfter {
		t.mu.Unlock()
		q.entraError(http.StatusBadRequest, "authorization_pending", 70016, "OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
		return
	}
	for _, s := range dc.scopes {
		if !consented(a, s) {
			t.mu.Unlock()
			q.entraError(http.StatusBadRequest, "invalid_grant", 65001, fmt.Sprintf("The user or administrator has not consented to use the application with ID '%s' named '%s' for the permission %s. Send an interactive authorization request for this user and resource, or ask an administrator to grant consent.", a.ClientID, a.DisplayName, s))
			return
		}
	}
	dc.redeemed = true
	u := t.approver
	t.mu.Unlock()
	t.answerUserTokens(q, a, u, dc.scopes)
}

func consented(a *app, scope string) bool {
	for _, s := range a.Scopes {
		if eq(s, scope) {
			return true
		}
	}
	return false
}

func (t *Tenant) redeemRefreshToken(q *request, a *app, tok string) {
	t.mu.Lock()
	rt := t.refreshes[tok]
	switch {
	case rt == nil || rt.app != a:
		t.mu.Unlock()
		q.entraError(http.StatusBadRequest, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
		return
	case rt.revoked:
		t.mu.Unlock()
		q.entraError(http.StatusBadRequest, "invalid_grant", 50173, "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.")
		return
	case !t.now().Before(rt.exp):
		t.mu.Unlock()
		q.entraError(http.StatusBadRequest, "invalid_grant", 700082, "The refresh token has expired due to inactivity. The token was issued on a date more than 90 days ago.")
		return
	}
	u, scopes := rt.user, rt.scopes
	t.mu.Unlock()
	t.answerUserTokens(q, a, u, scopes)
}

// answerUserTokens issues an access token for the user, a refresh token
// when offline_access was asked, and an ID token with openid.
func (t *Tenant) answerUserTokens(q *request, a *app, u *user, scopes []string) {
	t.mu.Lock()
	t.tokenSeq++
	now := t.now()
	life := t.cfg.AccessTokenLifetime
	var graphScopes []string
	offline, openid := false, false
	for _, s := range scopes {
		switch strings.ToLower(s) {
		case "offline_access":
			offline = true
		case "openid":
			openid = true
		case "profile", "email":
		default:
			graphScopes = append(graphScopes, s)
		}
	}
	tok := &accessToken{
		seq: t.tokenSeq, clientID: a.ClientID, scopes: graphScopes, user: u, exp: now.Add(life),
		jti: base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%016x%08x", mix(uint64(t.cfg.Seed), t.tokenSeq, 13), t.tokenSeq))),
	}
	t.tokens[tok.jti] = tok
	var refresh string
	if offline {
		refresh = "0.AAAA" + base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%016x%016x%08x", mix(uint64(t.cfg.Seed), t.tokenSeq, 31), mix(uint64(t.cfg.Seed), t.tokenSeq, 32), t.tokenSeq)))
		t.refreshes[refresh] = &refreshToken{seq: t.tokenSeq, app: a, user: u, scopes: scopes, exp: now.Add(refreshTokenLifetime)}
	}
	t.mu.Unlock()
	access := unsignedJWT(jobj{
		{"aud", graphResource},
		{"iss", "https://sts.windows.net/" + t.cfg.TenantID + "/"},
		{"iat", now.Unix()}, {"nbf", now.Unix()}, {"exp", tok.exp.Unix()},
		{"app_displayname", a.DisplayName},
		{"appid", a.ClientID},
		{"idtyp", "user"},
		{"name", u.DisplayName},
		{"oid", u.ID},
		{"scp", strings.Join(graphScopes, " ")},
		{"tid", t.cfg.TenantID},
		{"upn", u.UPN},
		{"uti", tok.jti},
		{"ver", "1.0"},
	})
	body := jobj{
		{"token_type", "Bearer"},
		{"scope", strings.Join(scopes, " ")},
		{"expires_in", int(life.Seconds())},
		{"ext_expires_in", int(life.Seconds())},
		{"access_token", access},
	}
	if refresh != "" {
		body = append(body, jkv{"refresh_token", refresh})
	}
	if openid {
		body = append(body, jkv{"id_token", unsignedJWT(jobj{
			{"aud", a.ClientID}, {"iss", q.base() + "/" + t.cfg.TenantID + "/v2.0"},
			{"iat", now.Unix()}, {"nbf", now.Unix()}, {"exp", tok.exp.Unix()},
			{"name", u.DisplayName}, {"oid", u.ID}, {"preferred_username", u.UPN}, {"tid", t.cfg.TenantID}, {"ver", "2.0"},
		})})
	}
	q.writeJSON(http.StatusOK, body)
}

func unsignedJWT(claims jobj) string {
	hb, _ := json.Marshal(jobj{{"typ", "JWT"}, {"alg", "none"}})
	cb, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb) + "."
}
