package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/graph/graphsim"
)

func TestParseArgs(t *testing.T) {
	cases := []struct {
		args []string
		err  string
	}{
		{nil, ""},
		{[]string{"-demo", "-addr", "localhost:8080", "-latency", "20ms"}, ""},
		{[]string{"-addr", "[::1]:0", "-faults", "throttle=0.1,reset=0.01", "-retry-after", "http-date"}, ""},
		{[]string{"-addr", "0.0.0.0:8080"}, "not a loopback address"},
		{[]string{"-addr", ":8080"}, "not a loopback address"},
		{[]string{"-addr", "0.0.0.0:8080", "-allow-remote"}, ""},
		{[]string{"-faults", "meteor=0.1"}, "kind=rate"},
		{[]string{"-faults", "throttle=2"}, "from 0 to 1"},
		{[]string{"-faults", "throttle=0.6,reset=0.6"}, "more than 1"},
		{[]string{"-retry-after", "minutes"}, "seconds, fractional or http-date"},
		{[]string{"-duplicates", "1.5"}, "from 0 to 1"},
		{[]string{"extra"}, "unexpected argument"},
		{[]string{"-sync-reset-code", "resyncRequired", "-strict-delta-id-type"}, ""},
		{[]string{"-sync-reset-code", "gone"}, "use SyncStateNotFound"},
		{[]string{"-messages", "10", "-large", "8"}, ""},
		{[]string{"-messages", "10", "-large", "9"}, "-large must be"},
	}
	for _, tc := range cases {
		o, err := parseArgs(tc.args, io.Discard)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Fatalf("%v: %v, want %q", tc.args, err, tc.err)
		}
		if len(tc.args) > 3 && tc.args[3] == "throttle=0.1,reset=0.01" && (o.faults.Throttle != 0.1 || o.faults.Reset != 0.01 || o.retryStyle != graphsim.RetryAfterHTTPDate) {
			t.Fatalf("parsed %+v", o)
		}
	}
}

// The program prints working endpoints and stops when its context ends.
func TestRunServesTheDemo(t *testing.T) {
	o, err := parseArgs([]string{"-demo"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, o, pw)
		pw.Close()
	}()
	env := map[string]string{}
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "="); ok && strings.HasPrefix(line, "export ") {
			env[k] = v
		}
		if strings.HasPrefix(line, "Stop with") {
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if env["COLLECT_CLIENT_SECRET"] != graphsim.DemoClientSecret || env["COLLECT_GRAPH_ENDPOINT"] != env["COLLECT_LOGIN_ENDPOINT"] || !strings.HasPrefix(env["COLLECT_GRAPH_ENDPOINT"], "http://127.0.0.1:") {
		t.Fatalf("printed %v", env)
	}
	resp, err := http.PostForm(env["COLLECT_LOGIN_ENDPOINT"]+"/"+graphsim.DemoTenantDomain+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {graphsim.DemoClientID},
		"client_secret": {env["COLLECT_CLIENT_SECRET"]}, "scope": {"https://graph.microsoft.com/.default"},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("token: %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not stop")
	}
}

func TestBuildGeneratedTenant(t *testing.T) {
	o, err := parseArgs([]string{"-mailboxes", "2", "-messages", "10", "-large", "1", "-large-mb", "2"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	tn, err := buildTenant(o)
	if err != nil {
		t.Fatal(err)
	}
	users := tn.Users()
	if len(users) != 2 {
		t.Fatalf("%d users", len(users))
	}
	inbox, _ := tn.Messages(users[1].UPN, "inbox")
	sent, _ := tn.Messages(users[1].UPN, "sentitems")
	large := 0
	for _, r := range inbox {
		if r.Size > 2<<20*9/10 {
			large++
		}
	}
	if len(inbox) != 8 || len(sent) != 2 || large != 1 {
		t.Fatalf("inbox %d (large %d), sent %d", len(inbox), large, len(sent))
	}
}
