package graphsim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// accessToken is an access token the login endpoint issued.
type accessToken struct {
	seq      uint64
	jti      string
	clientID string
	roles    []string // application permissions (app-only tokens)
	scopes   []string // delegated permissions (user tokens)
	user     *user    // the signed-in user; nil for app-only tokens
	exp      time.Time
	revoked  bool
}

// has reports whether the token carries one of the permissions, as an
// application role or a delegated scope.
func (tok *accessToken) has(perms ...string) bool {
	held := tok.roles
	if tok.user != nil {
		held = tok.scopes
	}
	for _, h := range held {
		for _, p := range perms {
			if eq(h, p) {
				return true
			}
		}
	}
	return false
}

const graphResource = "https://graph.microsoft.com"

// entraError answers in the shape of the Microsoft identity platform.
func (q *request) entraError(status int, errCode string, aadsts int, desc string) {
	now := q.t.now().UTC()
	trace := q.requestID
	corr := q.r.Header.Get("client-request-id") // Entra's correlation ID is the client's, or its own
	if corr == "" {
		corr = guid(mix(hashString(trace), 41), mix(hashString(trace), 42))
	}
	// Entra puts the trace, correlation and time on lines of their own.
	full := fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s", aadsts, desc, trace, corr, now.Format("2006-01-02 15:04:05Z"))
	q.writeJSON(status, jobj{
		{"error", errCode},
		{"error_description", full},
		{"error_codes", []int{aadsts}},
		{"timestamp", now.Format("2006-01-02 15:04:05Z")},
		{"trace_id", trace},
		{"correlation_id", corr},
		{"error_uri", fmt.Sprintf("%s/error?code=%d", q.base(), aadsts)},
	})
}

// serveToken is the v2.0 token endpoint: the client credentials grant
// with a secret, the device code grant and the refresh token grant.
func (t *Tenant) serveToken(q *request, tenant string) {
	r := q.r
	if r.Method != http.MethodPost {
		q.entraError(http.StatusMethodNotAllowed, "invalid_request", 900561, "The endpoint only accepts POST requests.")
		return
	}
	if !eq(tenant, t.cfg.TenantID) && !eq(tenant, t.cfg.Domain) {
		q.entraError(http.StatusBadRequest, "invalid_request", 90002, fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
		return
	}
	if err := r.ParseForm(); err != nil {
		q.entraError(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	}
	f := r.PostForm
	grant := f.Get("grant_type")
	switch grant {
	case "":
		q.entraError(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	case "client_credentials", deviceCodeGrant, "refresh_token":
	default:
		q.entraError(http.StatusBadRequest, "unsupported_grant_type", 70003, fmt.Sprintf("The app requested an unsupported grant type '%s'. The simulator models client_credentials, device_code and refresh_token.", grant))
		return
	}
	if t.injectedSignInError(q, f.Get("client_id")) {
		return
	}
	a, ok := t.authenticateClient(q, grant != "client_credentials")
	if !ok {
		return
	}
	switch grant {
	case deviceCodeGrant:
		t.redeemDeviceCode(q, a, f.Get("device_code"))
		return
	case "refresh_token":
		t.redeemRefreshToken(q, a, f.Get("refresh_token"))
		return
	}
	scope := f.Get("scope")
	if !strings.HasSuffix(scope, "/.default") || strings.Contains(scope, " ") {
		q.entraError(http.StatusBadRequest, "invalid_scope", 1002012, fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope))
		return
	}
	if res := strings.TrimSuffix(scope, "/.default"); res != graphResource && res != graphResource+"/" && res != "00000003-0000-0000-c000-000000000000" {
		q.entraError(http.StatusBadRequest, "invalid_resource", 500011, fmt.Sprintf("The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.", res, t.cfg.Domain))
		return
	}
	access, lifetime := t.issue(a)
	q.writeJSON(http.StatusOK, jobj{
		{"token_type", "Bearer"},
		{"expires_in", int(lifetime.Seconds())},
		{"ext_expires_in", int(lifetime.Seconds())},
		{"access_token", access},
	})
}

// authenticateClient finds the app a token request names and checks its
// secret. A public client may omit the secret in the user flows.
func (t *Tenant) authenticateClient(q *request, userFlow bool) (*app, bool) {
	f := q.r.PostForm
	clientID := f.Get("client_id")
	if clientID == "" {
		q.entraError(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
		return nil, false
	}
	t.mu.Lock()
	a := t.apps[clientID]
	t.mu.Unlock()
	if a == nil {
		q.entraError(http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, t.cfg.Domain))
		return nil, false
	}
	secret := f.Get("client_secret")
	switch {
	case secret == "" && userFlow && a.PublicClient:
		return a, true
	case secret == "" && f.Get("client_assertion") != "":
		return a, t.checkAssertion(q, a)
	case secret == "":
		q.entraError(http.StatusUnauthorized, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return nil, false
	case secret != a.ClientSecret:
		q.entraError(http.StatusUnauthorized, "invalid_client", 7000215, fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", a.ClientID))
		return nil, false
	}
	return a, true
}

func (t *Tenant) issue(a *app) (string, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.tokenSeq++
	now := t.now()
	life := t.cfg.AccessTokenLifetime
	tok := &accessToken{
		seq: t.tokenSeq, clientID: a.ClientID, roles: append([]string(nil), a.Roles...), exp: now.Add(life),
		jti: base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%016x%08x", mix(uint64(t.cfg.Seed), t.tokenSeq, 13), t.tokenSeq))),
	}
	t.tokens[tok.jti] = tok
	header := jobj{{"typ", "JWT"}, {"alg", "none"}}
	claims := jobj{
		{"aud", graphResource},
		{"iss", "https://sts.windows.net/" + t.cfg.TenantID + "/"},
		{"iat", now.Unix()}, {"nbf", now.Unix()}, {"exp", tok.exp.Unix()},
		{"app_displayname", a.DisplayName},
		{"appid", a.ClientID},
		{"idtyp", "app"},
		{"roles", tok.roles},
		{"tid", t.cfg.TenantID},
		{"uti", tok.jti},
		{"ver", "1.0"},
	}
	hb, _ := json.Marshal(header)
	cb, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb) + ".", life
}

// authenticate checks the bearer token of a Graph request.
func (t *Tenant) authenticate(q *request) bool {
	deny := func(msg string) bool {
		q.w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="`+q.base()+`/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`)
		q.fail(http.StatusUnauthorized, "InvalidAuthenticationToken", msg)
		return false
	}
	h := q.r.Header.Get("Authorization")
	scheme, raw, _ := strings.Cut(h, " ")
	if h == "" || !eq(scheme, "Bearer") || strings.TrimSpace(raw) == "" {
		return deny("Access token is empty.")
	}
	parts := strings.Split(strings.TrimSpace(raw), ".")
	if len(parts) != 3 {
		return deny("IDX14100: JWT is not well formed, there are no dots (.).")
	}
	cb, err := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct {
		UTI string `json:"uti"`
		TID string `json:"tid"`
	}
	if err != nil || json.Unmarshal(cb, &claims) != nil {
		return deny("Access token validation failure. Invalid audience.")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	tok := t.tokens[claims.UTI]
	switch {
	case tok == nil || claims.TID != t.cfg.TenantID:
		return deny("Access token validation failure. Invalid audience.")
	case tok.revoked || tok.seq <= t.revokedUpTo:
		return deny("Access token has expired or is not yet valid.")
	case !t.now().Before(tok.exp):
		return deny("Lifetime validation failed, the token is expired.")
	}
	q.token = tok
	q.app = t.apps[tok.clientID]
	return true
}

// RevokeAccessTokens makes every access token issued so far answer 401.
func (t *Tenant) RevokeAccessTokens() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.revokedUpTo = t.tokenSeq
}
