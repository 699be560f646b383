package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/graph/graphsim"
)

// credentialRecorder serves the simulated tenant and keeps every
// credential that crosses the wire: the tokens the token endpoint hands
// out, the assertions and device codes clients send, and the bearer
// tokens on Graph requests.
type credentialRecorder struct {
	tn *graphsim.Tenant

	mu      sync.Mutex
	secrets map[string]string // value -> what it is
	refresh []string          // refresh tokens in the order issued
}

func (c *credentialRecorder) keep(value, what string) {
	if len(value) < 8 {
		return
	}
	if _, seen := c.secrets[value]; seen {
		return // keep the first name it was seen under
	}
	c.secrets[value] = what
	// A JWT's claims segment alone is as telling as the whole token.
	if parts := strings.Split(value, "."); len(parts) == 3 && len(parts[1]) >= 16 {
		if _, seen := c.secrets[parts[1]]; !seen {
			c.secrets[parts[1]] = what + " (claims segment)"
		}
	}
}

func (c *credentialRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	isToken := strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token") || strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/devicecode")
	if isToken {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err := r.ParseForm(); err == nil {
			c.mu.Lock()
			for _, k := range []string{"client_secret", "client_assertion", "device_code", "refresh_token"} {
				c.keep(r.PostForm.Get(k), "sent "+k)
			}
			c.mu.Unlock()
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.PostForm, r.Form = nil, nil
	}
	if auth := r.Header.Get("Authorization"); auth != "" {
		c.mu.Lock()
		c.keep(strings.TrimPrefix(auth, "Bearer "), "bearer token")
		c.mu.Unlock()
	}
	if !isToken {
		c.tn.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	c.tn.ServeHTTP(rec, r)
	var resp map[string]any
	if json.Unmarshal(rec.Body.Bytes(), &resp) == nil {
		c.mu.Lock()
		for _, k := range []string{"access_token", "refresh_token", "id_token", "device_code"} {
			if v, ok := resp[k].(string); ok {
				c.keep(v, "issued "+k)
				if k == "refresh_token" {
					c.refresh = append(c.refresh, v)
				}
			}
		}
		c.mu.Unlock()
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

const securityMatter = `matter "security" {}

variable "tenant_id" {
  type = string
}

variable "client_id" {
  type = string
}

tenant {
  tenant_id = var.tenant_id
  client_id = var.client_id
  auth      = "%AUTH%"
}

window "y2024" {
  start = "2024-01-01"
  end   = "2025-01-01"
}

custodian "ann" {
  email   = "ann@sim.collect.invalid"
  windows = [window.y2024]
}

custodian "bob" {
  email   = "bob@sim.collect.invalid"
  windows = [window.y2024]
}

mailbox "legal" {
  address    = "legal@sim.collect.invalid"
  custodians = [custodian.ann]
}
`

// TestNoCredentialIsWritten runs plan, apply, verify, show and doctor
// with debug logging, signed in with a client secret, then with device
// code, then with a federated token, and searches everything collect wrote
// (state, plan file, output folder, run records, the token cache, stdout
// and stderr) for every secret, token, assertion and device code that
// crossed the wire. The only credential allowed on disk is the newest
// refresh token, in the token cache, which must hold nothing else.
func TestNoCredentialIsWritten(t *testing.T) {
	tn, err := simTenant()
	if err != nil {
		t.Fatal(err)
	}
	// Ann signs in as herself and may read the other two mailboxes.
	if err := tn.GrantFullAccess("ann@"+simDomain, "legal@"+simDomain); err != nil {
		t.Fatal(err)
	}
	creds := tn.Credentials()
	if err := tn.SetPublicClient(creds.ClientID, true); err != nil {
		t.Fatal(err)
	}
	if err := tn.ApproveDeviceCodes("ann@"+simDomain, 0); err != nil {
		t.Fatal(err)
	}
	tn.SetDeviceCodeTiming(time.Second, 0)
	const issuer, subject = "https://token.actions.githubusercontent.com", "repo:acme/matters:ref:refs/heads/main"
	if err := tn.AddFederatedCredential(creds.ClientID, graphsim.FederatedCredential{Issuer: issuer, Subject: subject}); err != nil {
		t.Fatal(err)
	}
	recorder := &credentialRecorder{tn: tn, secrets: map[string]string{}}
	srv := httptest.NewServer(recorder)
	defer srv.Close()

	root := t.TempDir()
	matter := filepath.Join(root, "matter")
	cacheDir := filepath.Join(root, "cache")
	if err := os.MkdirAll(matter, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(matter)
	tokenFile := filepath.Join(t.TempDir(), "oidc-token") // the CI's file, not collect's
	env := []string{
		"COLLECT_LOG=debug", "NO_COLOR=1",
		"COLLECT_GRAPH_ENDPOINT=" + srv.URL, "COLLECT_LOGIN_ENDPOINT=" + srv.URL,
		"COLLECT_CLIENT_SECRET=" + creds.ClientSecret,
		"COLLECT_VAR_tenant_id=" + creds.TenantID, "COLLECT_VAR_client_id=" + creds.ClientID,
		"COLLECT_CACHE_DIR=" + cacheDir,
		"COLLECT_FEDERATED_TOKEN_FILE=" + tokenFile,
	}
	recorder.keep(creds.ClientSecret, "client secret")

	var out bytes.Buffer
	collect := func(want int, args ...string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		code := run(args, strings.NewReader(""), &stdout, &stderr, env)
		out.Write(stdout.Bytes())
		out.Write(stderr.Bytes())
		if code != want {
			t.Fatalf("collect %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, stdout.String(), stderr.String())
		}
	}
	writeMatter := func(auth string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(matter, "main.collect.hcl"), []byte(strings.ReplaceAll(securityMatter, "%AUTH%", auth)), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// An app with a client secret: the whole cycle.
	writeMatter("client_secret")
	collect(exitOK, "plan", "-out=first.plan")
	collect(exitOK, "apply", "first.plan")
	collect(exitOK, "verify")
	collect(exitOK, "show")
	collect(exitOK, "doctor")

	// A person with device code: login, then a collection of new mail.
	writeMatter("device_code")
	collect(exitOK, "login")
	if _, err := tn.Deliver("ann@"+simDomain, mustFolder(t, tn, "ann@"+simDomain, "inbox"), graphsim.MessageSpec{Received: time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	// Bob's mailbox is not shared with Ann: leave it out.
	collect(exitOK, "plan", "-out=second.plan", "-target=custodian.ann", "-target=mailbox.legal")
	collect(exitOK, "apply", "second.plan")
	collect(exitError, "doctor", "-no-counts", "-json") // bob is not shared with Ann
	collect(exitError, "plan", "-target=custodian.bob") // 403: no Full Access; the error names the fix

	// CI with a federated token.
	writeMatter("federated_token")
	exp := tn.Clock().Now().Add(10 * time.Minute)
	fed := federatedToken(issuer, subject, exp)
	recorder.keep(fed, "federated token")
	if err := os.WriteFile(tokenFile, []byte(fed), 0o600); err != nil {
		t.Fatal(err)
	}
	collect(exitOK, "plan", "-detailed-exitcode")

	// A refused secret: the error must not echo it.
	writeMatter("client_secret")
	wrong := "wrong-secret-" + strings.Repeat("x", 20)
	recorder.keep(wrong, "wrong client secret")
	env = append(env, "COLLECT_CLIENT_SECRET="+wrong)
	collect(exitError, "plan")

	recorder.mu.Lock()
	secrets := recorder.secrets
	refresh := recorder.refresh
	recorder.mu.Unlock()
	if len(refresh) < 2 {
		t.Fatalf("only %d refresh tokens were issued; the test needs a login and a refresh", len(refresh))
	}
	kinds := map[string]bool{}
	for _, what := range secrets {
		kinds[what] = true
	}
	for _, want := range []string{"client secret", "issued access_token", "issued refresh_token", "federated token", "issued device_code", "wrong client secret"} {
		if !kinds[want] {
			t.Errorf("the test saw no %s: it would not catch its leak", want)
		}
	}
	newest := refresh[len(refresh)-1]

	leaks := func(data []byte, allowed string) []string {
		var found []string
		for v, what := range secrets {
			if v == allowed || (allowed != "" && strings.Contains(allowed, v)) {
				continue
			}
			if bytes.Contains(data, []byte(v)) {
				found = append(found, what)
			}
		}
		sort.Strings(found)
		return found
	}
	check := func(name string, data []byte, allowed string) {
		if found := leaks(data, allowed); len(found) > 0 {
			t.Errorf("%s contains: %s", name, strings.Join(found, ", "))
		}
	}
	// The search finds what it looks for: an older refresh token is a
	// leak even in the cache, and a token's claims segment alone is one.
	if len(leaks([]byte("x"+refresh[0]+"x"), newest)) == 0 {
		t.Fatal("the search does not find a planted old refresh token")
	}
	for v, what := range secrets {
		if what == "issued access_token" {
			if len(leaks([]byte("log: "+strings.Split(v, ".")[1]), "")) == 0 {
				t.Fatal("the search does not find a planted access token claims segment")
			}
			break
		}
	}
	check("stdout and stderr", out.Bytes(), "")
	if !bytes.Contains(out.Bytes(), []byte("level=DEBUG")) {
		t.Error("no debug log was written: the test did not exercise COLLECT_LOG=debug")
	}
	files := 0
	cacheFiles := 0
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files++
		rel, _ := filepath.Rel(root, p)
		if strings.HasPrefix(rel, "cache"+string(filepath.Separator)) {
			cacheFiles++
			if !bytes.Contains(data, []byte(newest)) {
				t.Errorf("the token cache %s does not hold the newest refresh token", rel)
			}
			check(rel, data, newest)
			return nil
		}
		check(rel, data, "")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if cacheFiles != 1 {
		t.Errorf("%d token cache files, want 1", cacheFiles)
	}
	var names []string
	_ = filepath.WalkDir(matter, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(matter, p)
			names = append(names, rel)
		}
		return nil
	})
	sort.Strings(names)
	wantSome := []string{"collect.state", "first.plan", "second.plan", "collection/manifest.jsonl"}
	for _, w := range wantSome {
		found := false
		for _, n := range names {
			if filepath.ToSlash(n) == w {
				found = true
			}
		}
		if !found {
			t.Errorf("collect did not write %s; searched %d files: %v", w, files, names)
		}
	}
}

func mustFolder(t *testing.T, tn *graphsim.Tenant, mailbox, name string) string {
	t.Helper()
	id, err := tn.FolderID(mailbox, name)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func federatedToken(iss, sub string, exp time.Time) string {
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT"})
	c, _ := json.Marshal(map[string]any{"iss": iss, "sub": sub, "aud": graphsim.FederatedAudience, "exp": exp.Unix(), "jti": exp.String()})
	enc := base64.RawURLEncoding.EncodeToString
	return enc(h) + "." + enc(c) + ".c2lnbmF0dXJlLW9mLXRoZS1jaQ"
}
