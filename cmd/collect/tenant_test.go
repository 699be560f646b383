package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/collect-ediscovery/collect/config"
)

// TestCloudEndpoints checks each cloud's sign-in and Graph roots, that
// the overrides move where requests go but not which resource's
// permissions are asked for, and that plain http leaves only loopback.
func TestCloudEndpoints(t *testing.T) {
	streamsWith := func(env ...string) *streams {
		return &streams{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, env: env}
	}
	for _, c := range []struct {
		cloud, login, graph string
	}{
		{config.CloudGlobal, "https://login.microsoftonline.com", "https://graph.microsoft.com"},
		{config.CloudUSGov, "https://login.microsoftonline.us", "https://graph.microsoft.us"},
		{config.CloudUSGovDoD, "https://login.microsoftonline.us", "https://dod-graph.microsoft.us"},
		{config.CloudChina, "https://login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn"},
	} {
		tgt, err := resolveTenant(streamsWith(), config.Tenant{TenantID: "t", ClientID: "c", Cloud: c.cloud})
		if err != nil {
			t.Fatalf("%s: %v", c.cloud, err)
		}
		a := tgt.authority
		if a.LoginURL != c.login || tgt.graphURL != c.graph || a.Resource != c.graph {
			t.Errorf("%s: login %s graph %s resource %s", c.cloud, a.LoginURL, tgt.graphURL, a.Resource)
		}
		if got := a.UserScopes()[4]; got != c.graph+"/User.Read" {
			t.Errorf("%s: delegated scope %s", c.cloud, got)
		}
		if a.AppScope() != c.graph+"/.default" {
			t.Errorf("%s: app scope %s", c.cloud, a.AppScope())
		}
	}
	tgt, err := resolveTenant(streamsWith("COLLECT_LOGIN_ENDPOINT=http://127.0.0.1:8443", "COLLECT_GRAPH_ENDPOINT=http://localhost:8443"),
		config.Tenant{TenantID: "t", ClientID: "c", Cloud: config.CloudUSGov})
	if err != nil {
		t.Fatal(err)
	}
	if tgt.authority.LoginURL != "http://127.0.0.1:8443" || tgt.graphURL != "http://localhost:8443" || tgt.authority.Resource != "https://graph.microsoft.us" {
		t.Errorf("overrides: %+v %s", tgt.authority, tgt.graphURL)
	}
	for _, env := range []string{"COLLECT_LOGIN_ENDPOINT=http://login.example.com", "COLLECT_GRAPH_ENDPOINT=http://10.0.0.5:8080", "COLLECT_GRAPH_ENDPOINT=ftp://graph.example.com"} {
		_, err := resolveTenant(streamsWith(env), config.Tenant{TenantID: "t", ClientID: "c", Cloud: config.CloudGlobal})
		if err == nil || !(strings.Contains(err.Error(), "plain http") || strings.Contains(err.Error(), "https")) {
			t.Errorf("%s: %v", env, err)
		}
	}
	if _, err := resolveTenant(streamsWith(), config.Tenant{Cloud: "mars"}); err == nil {
		t.Error("an unknown cloud was accepted")
	}
}
