package graphsim

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// The app credentials beyond secrets: certificates and federated
// credentials, public client flows, and sign-in errors on demand.

// FederatedAudience is the audience Entra ID expects in a federated token.
const FederatedAudience = "api://AzureADTokenExchange"

// FederatedCredential trusts tokens of another identity provider for an
// app, as a federated identity credential of an app registration does.
type FederatedCredential struct {
	Issuer   string // e.g. https://token.actions.githubusercontent.com
	Subject  string // e.g. repo:acme/matters:environment:production
	Audience string // default FederatedAudience
}

// signInConfig is the tenant's sign-in settings, guarded by Tenant.mu.
type signInConfig struct {
	certs      map[string][]*x509.Certificate // by client ID
	federated  map[string][]FederatedCredential
	public     map[string]bool
	failCode   int           // every token request answers this AADSTS error; 0: none
	interval   time.Duration // device code polling interval; 0: 5 s
	deviceLife time.Duration // device code lifetime; 0: 15 min, negative: already expired
}

func (t *Tenant) appLocked(clientID string) (*app, error) {
	a, ok := t.apps[clientID]
	if !ok {
		return nil, fmt.Errorf("graphsim: no app %s: %w", clientID, ErrNotFound)
	}
	return a, nil
}

// AddCertificate registers a certificate for the app: client assertions
// signed with its key (RS256, thumbprint in x5t#S256 or x5t) are accepted.
func (t *Tenant) AddCertificate(clientID string, cert *x509.Certificate) error {
	if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
		return errors.New("graphsim: only RSA certificates can sign client assertions")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, err := t.appLocked(clientID); err != nil {
		return err
	}
	if t.signin.certs == nil {
		t.signin.certs = map[string][]*x509.Certificate{}
	}
	t.signin.certs[clientID] = append(t.signin.certs[clientID], cert)
	return nil
}

// AddFederatedCredential trusts tokens with the issuer and subject for
// the app. The simulator checks a federated token's shape (issuer,
// subject, audience, expiry), not its signature, which real Entra ID
// checks against the issuer's published keys.
func (t *Tenant) AddFederatedCredential(clientID string, fc FederatedCredential) error {
	if fc.Issuer == "" || fc.Subject == "" {
		return errors.New("graphsim: a federated credential needs an issuer and a subject")
	}
	if fc.Audience == "" {
		fc.Audience = FederatedAudience
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, err := t.appLocked(clientID); err != nil {
		return err
	}
	if t.signin.federated == nil {
		t.signin.federated = map[string][]FederatedCredential{}
	}
	t.signin.federated[clientID] = append(t.signin.federated[clientID], fc)
	return nil
}

// SetPublicClient turns "Allow public client flows" on or off for the
// app: with it, device code and refresh token grants need no secret.
func (t *Tenant) SetPublicClient(clientID string, public bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	a, err := t.appLocked(clientID)
	if err != nil {
		return err
	}
	a.PublicClient = public
	return nil
}

// FailSignIns makes every token request (any grant) answer the AADSTS
// error code, in Entra's shape: 65001 consent required, 90094 admin
// approval required, 700016 app not found, 7000215 invalid secret, 50020
// account from another tenant, 700024 assertion out of its time range,
// 50173 revoked grant; other codes answer a generic invalid_request. 0
// stops it.
func (t *Tenant) FailSignIns(aadsts int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.signin.failCode = aadsts
}

// SetDeviceCodeTiming sets the polling interval the device code endpoint
// asks for (whole seconds, at least 1; default 5 s) and the lifetime of
// new codes on the tenant's clock (0: 15 minutes; negative: codes are
// expired when issued).
func (t *Tenant) SetDeviceCodeTiming(interval, lifetime time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.signin.interval, t.signin.deviceLife = interval, lifetime
}

// deviceTiming returns the interval in seconds and the lifetime of a new code.
func (t *Tenant) deviceTiming() (int, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	iv := int(t.signin.interval / time.Second)
	if iv < 1 {
		iv = 5
	}
	life := t.signin.deviceLife
	switch {
	case life == 0:
		life = deviceCodeLifetime
	case life < 0:
		life = 0
	}
	return iv, life
}

// injectedSignInError answers the error FailSignIns asked for, if any.
func (t *Tenant) injectedSignInError(q *request, clientID string) bool {
	t.mu.Lock()
	code := t.signin.failCode
	t.mu.Unlock()
	if code == 0 {
		return false
	}
	status, kind, desc := http.StatusBadRequest, "invalid_request", "Simulated sign-in failure."
	switch code {
	case 65001:
		kind, desc = "invalid_grant", fmt.Sprintf("The user or administrator has not consented to use the application with ID '%s'. Send an interactive authorization request for this user and resource.", clientID)
	case 90094:
		kind, desc = "invalid_grant", "The grant requires admin permission."
	case 700016:
		kind, desc = "unauthorized_client", fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", clientID, t.cfg.Domain)
	case 7000215:
		status, kind, desc = http.StatusUnauthorized, "invalid_client", "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID."
	case 50020:
		desc = fmt.Sprintf("User account from identity provider 'live.com' does not exist in tenant '%s' and cannot access the application '%s' in that tenant.", t.cfg.Domain, clientID)
	case 700024:
		kind, desc = "invalid_client", "Client assertion is not within its valid time range."
	case 50173:
		kind, desc = "invalid_grant", "The provided grant has expired due to it being revoked, a fresh auth token is needed."
	}
	q.entraError(status, kind, code, desc)
	return true
}

// checkAssertion authenticates a client by its client_assertion: a
// certificate assertion (iss = sub = client ID, signed RS256 by a
// registered certificate named by its thumbprint) or a federated token
// (issuer and subject of a registered federated credential, audience
// api://AzureADTokenExchange). Both must be within their time range.
func (t *Tenant) checkAssertion(q *request, a *app) bool {
	f := q.r.PostForm
	if f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		q.entraError(http.StatusBadRequest, "invalid_request", 50027, "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.")
		return false
	}
	raw := f.Get("client_assertion")
	parts := strings.Split(raw, ".")
	var header struct {
		Alg  string `json:"alg"`
		X5t  string `json:"x5t"`
		X5tS string `json:"x5t#S256"`
	}
	var claims struct {
		Aud any    `json:"aud"`
		Iss string `json:"iss"`
		Sub string `json:"sub"`
		Jti string `json:"jti"`
		Exp int64  `json:"exp"`
		Nbf int64  `json:"nbf"`
	}
	malformed := func() bool {
		q.entraError(http.StatusBadRequest, "invalid_request", 50027, "JWT token is invalid or malformed.")
		return false
	}
	if len(parts) != 3 {
		return malformed()
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	if err1 != nil || err2 != nil || json.Unmarshal(hb, &header) != nil || json.Unmarshal(cb, &claims) != nil {
		return malformed()
	}
	now := t.now()
	inTime := func() bool {
		const skew = 5 * time.Minute
		if claims.Exp == 0 || !now.Before(time.Unix(claims.Exp, 0).Add(skew)) || (claims.Nbf != 0 && now.Add(skew).Before(time.Unix(claims.Nbf, 0))) {
			q.entraError(http.StatusBadRequest, "invalid_client", 700024, fmt.Sprintf("Client assertion is not within its valid time range. Current time: %s, expiry time of assertion %s.",
				now.UTC().Format(time.RFC3339), time.Unix(claims.Exp, 0).UTC().Format(time.RFC3339)))
			return false
		}
		return true
	}
	auds := audiences(claims.Aud)

	if header.X5t != "" || header.X5tS != "" || eq(claims.Iss, a.ClientID) {
		// A certificate credential.
		t.mu.Lock()
		certs := t.signin.certs[a.ClientID]
		t.mu.Unlock()
		var cert *x509.Certificate
		for _, c := range certs {
			s1 := sha1.Sum(c.Raw)
			s256 := sha256.Sum256(c.Raw)
			if (header.X5tS != "" && header.X5tS == base64.RawURLEncoding.EncodeToString(s256[:])) ||
				(header.X5tS == "" && header.X5t != "" && header.X5t == base64.RawURLEncoding.EncodeToString(s1[:])) {
				cert = c
			}
		}
		if cert == nil {
			q.entraError(http.StatusUnauthorized, "invalid_client", 700027, fmt.Sprintf("Client assertion failed signature validation. [Reason - The key was not found., Thumbprint of key used by client: '%s'] The certificate is not registered for application '%s'.", header.X5t, a.ClientID))
			return false
		}
		digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		sig, err := base64.RawURLEncoding.DecodeString(parts[2])
		if header.Alg != "RS256" || err != nil || rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, digest[:], sig) != nil {
			q.entraError(http.StatusUnauthorized, "invalid_client", 700027, "Client assertion failed signature validation. [Reason - The provided signature value did not match the expected signature value.]")
			return false
		}
		if !eq(claims.Iss, a.ClientID) || !eq(claims.Sub, a.ClientID) {
			q.entraError(http.StatusUnauthorized, "invalid_client", 700021, "Client assertion application identifier doesn't match 'client_id' parameter.")
			return false
		}
		okAud := false
		for _, au := range auds {
			for _, tn := range []string{t.cfg.TenantID, t.cfg.Domain} {
				if eq(au, q.base()+"/"+tn+"/oauth2/v2.0/token") || eq(au, q.base()+"/"+tn+"/oauth2/token") {
					okAud = true
				}
			}
		}
		if !okAud {
			q.entraError(http.StatusUnauthorized, "invalid_client", 700023, "Client assertion audience claim does not match Realm issuer.")
			return false
		}
		if claims.Jti == "" {
			return malformed()
		}
		return inTime()
	}

	// A federated token from another identity provider.
	t.mu.Lock()
	creds := t.signin.federated[a.ClientID]
	t.mu.Unlock()
	var issuerOK, subjectOK, audOK bool
	for _, fc := range creds {
		if fc.Issuer != claims.Iss {
			continue
		}
		issuerOK = true
		if fc.Subject != claims.Sub {
			continue
		}
		subjectOK = true
		for _, au := range auds {
			if au == fc.Audience {
				audOK = true
			}
		}
	}
	switch {
	case !issuerOK:
		q.entraError(http.StatusBadRequest, "invalid_request", 700211, fmt.Sprintf("No matching federated identity record found for presented assertion issuer '%s'.", claims.Iss))
		return false
	case !subjectOK:
		q.entraError(http.StatusBadRequest, "invalid_request", 700213, fmt.Sprintf("No matching federated identity record found for presented assertion subject '%s'.", claims.Sub))
		return false
	case !audOK:
		q.entraError(http.StatusBadRequest, "invalid_request", 700212, fmt.Sprintf("No matching federated identity record found for presented assertion audience '%s'.", strings.Join(auds, ",")))
		return false
	}
	return inTime()
}

func audiences(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
