package entra

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/collect-ediscovery/collect/graph"
)

func TestClientCredentialsErrorsKeepAADSTSNotSecret(t *testing.T) {
	const secret = "s3cr3t-value~x"
	var form map[string][]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		form = r.PostForm
		if r.URL.Path != "/tenant-1/oauth2/v2.0/token" {
			http.NotFound(w, r)
			return
		}
		if r.PostForm.Get("client_secret") == "good" {
			writeJSON(w, 200, map[string]any{"token_type": "Bearer", "access_token": "AT", "expires_in": 3599})
			return
		}
		writeJSON(w, 401, map[string]any{"error": "invalid_client",
			"error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value.\r\nTrace ID: tr-1\r\nCorrelation ID: c-1\r\nTimestamp: 2025-01-01 00:00:00Z",
			"error_codes":       []int{7000215}, "trace_id": "tr-1", "correlation_id": "c-1"})
	}))
	defer srv.Close()

	ts, err := ClientCredentials(srv.URL, "tenant-1", "client-1", "good", srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ts.Token()
	if err != nil || tok.AccessToken != "AT" {
		t.Fatalf("token: %v %v", tok, err)
	}
	if form["grant_type"][0] != "client_credentials" || form["scope"][0] != GraphScope || form["client_id"][0] != "client-1" {
		t.Errorf("form = %v", form)
	}

	ts, _ = ClientCredentials(srv.URL, "tenant-1", "client-1", secret, srv.Client())
	_, err = ts.Token()
	var ge *graph.Error
	if !errors.As(err, &ge) {
		t.Fatalf("error %v is not a *graph.Error", err)
	}
	if ge.Code != "AADSTS7000215" || ge.RequestID != "tr-1" || ge.Status != 401 || ge.Op != "get token" {
		t.Errorf("error = %+v", ge)
	}
	if strings.Contains(err.Error(), secret) || strings.Contains(fmt.Sprintf("%+v", ge), secret) {
		t.Errorf("the secret leaked into the error: %v", err)
	}

	if _, err := ClientCredentials("http://login.example.com", "t", "c", "s", nil); err == nil {
		t.Error("plain http login URL on a public host was accepted")
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
