package graphsim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/internal/clock"
)

var t0 = time.Date(2024, 6, 1, 9, 0, 0, 0, time.UTC)

// sim is a tenant served over real HTTP, with a client holding a token.
type sim struct {
	t      *testing.T
	tn     *Tenant
	clk    *clock.Fake
	srv    *httptest.Server
	token  string
	client *http.Client
}

func newSim(t *testing.T, cfg Config) *sim {
	t.Helper()
	clk := clock.NewFake(t0)
	if cfg.Clock == nil {
		cfg.Clock = clk
	}
	tn := New(cfg)
	return serveSim(t, tn, clk)
}

func serveSim(t *testing.T, tn *Tenant, clk *clock.Fake) *sim {
	t.Helper()
	srv := httptest.NewServer(tn.Handler())
	t.Cleanup(srv.Close)
	s := &sim{t: t, tn: tn, clk: clk, srv: srv, client: srv.Client()}
	s.token = s.fetchToken()
	return s
}

func (s *sim) fetchToken() string {
	s.t.Helper()
	c := s.tn.Credentials()
	status, _, body := s.postForm("/"+c.TenantID+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {c.ClientID}, "client_secret": {c.ClientSecret},
		"scope": {"https://graph.microsoft.com/.default"},
	})
	if status != 200 {
		s.t.Fatalf("token: %d %s", status, body)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	mustJSON(s.t, body, &tr)
	return tr.AccessToken
}

func (s *sim) postForm(path string, v url.Values) (int, http.Header, []byte) {
	s.t.Helper()
	resp, err := s.client.PostForm(s.srv.URL+path, v)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// get fetches a Graph path (or a full URL, as links are followed) with the
// client's token and the given headers ("Name: value").
func (s *sim) get(pathOrURL string, headers ...string) (int, http.Header, []byte) {
	s.t.Helper()
	resp, err := s.do(pathOrURL, headers...)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatalf("reading %s: %v", pathOrURL, err)
	}
	return resp.StatusCode, resp.Header, b
}

func (s *sim) do(pathOrURL string, headers ...string) (*http.Response, error) {
	u := pathOrURL
	if !strings.HasPrefix(u, "http") {
		u = s.srv.URL + u
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	return s.client.Do(req)
}

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
}

type graphErr struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError struct {
			RequestID       string `json:"request-id"`
			Date            string `json:"date"`
			ClientRequestID string `json:"client-request-id"`
		} `json:"innerError"`
	} `json:"error"`
}

// wantError checks a Graph error answer.
func wantError(t *testing.T, status int, h http.Header, body []byte, wantStatus int, wantCode string) graphErr {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("status %d, want %d: %s", status, wantStatus, body)
	}
	var e graphErr
	mustJSON(t, body, &e)
	if e.Error.Code != wantCode {
		t.Fatalf("code %q, want %q: %s", e.Error.Code, wantCode, body)
	}
	if e.Error.Message == "" || e.Error.InnerError.RequestID == "" || e.Error.InnerError.Date == "" || e.Error.InnerError.ClientRequestID == "" {
		t.Fatalf("error body lacks message or innerError fields: %s", body)
	}
	if h.Get("request-id") != e.Error.InnerError.RequestID {
		t.Fatalf("request-id header %q, body %q", h.Get("request-id"), e.Error.InnerError.RequestID)
	}
	return e
}

type deltaPage struct {
	NextLink  string           `json:"@odata.nextLink"`
	DeltaLink string           `json:"@odata.deltaLink"`
	Value     []map[string]any `json:"value"`
}

// deltaRound follows a delta round from start to its deltaLink.
func (s *sim) deltaRound(start string, headers ...string) (items, removed []map[string]any, deltaLink string, pages int) {
	s.t.Helper()
	link := start
	for {
		status, _, body := s.get(link, headers...)
		if status != 200 {
			s.t.Fatalf("delta %s: %d %s", link, status, body)
		}
		var p deltaPage
		mustJSON(s.t, body, &p)
		pages++
		for _, v := range p.Value {
			if _, ok := v["@removed"]; ok {
				removed = append(removed, v)
			} else {
				items = append(items, v)
			}
		}
		if p.DeltaLink != "" {
			return items, removed, p.DeltaLink, pages
		}
		if p.NextLink == "" {
			s.t.Fatalf("delta page with neither nextLink nor deltaLink: %s", body)
		}
		link = p.NextLink
	}
}

func esc(id string) string { return url.PathEscape(id) }

const immutable = `Prefer: IdType="ImmutableId"`

func newB64(b []byte) io.Reader {
	return base64.NewDecoder(base64.StdEncoding, bytes.NewReader(bytes.ReplaceAll(b, []byte("\r\n"), nil)))
}
