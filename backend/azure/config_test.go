package azure

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/internal/azurite"
)

func TestConfigCheck(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string // words the error must hold; "" for none
		check   func(Config) string
	}{
		{name: "defaults", cfg: Config{Account: "acct", Container: "c", SharedKey: "k"},
			check: func(c Config) string {
				if c.Endpoint != "https://acct.blob.core.windows.net/" || c.LeaseDuration != 60*time.Second || c.Prefix != "" || c.Clock == nil {
					return fmt.Sprintf("%+v", c)
				}
				return ""
			}},
		{name: "prefix and endpoint cleaned", cfg: Config{Account: "acct", Container: "c", Prefix: "/matters/m1/", Endpoint: "http://127.0.0.1:1/acct"},
			check: func(c Config) string {
				if c.Prefix != "matters/m1/" || c.Endpoint != "http://127.0.0.1:1/acct/" {
					return fmt.Sprintf("prefix %q endpoint %q", c.Prefix, c.Endpoint)
				}
				return ""
			}},
		{name: "account from the connection string", cfg: Config{Container: "c", ConnectionString: "DefaultEndpointsProtocol=https;AccountName=fromcs;AccountKey=a2V5"},
			check: func(c Config) string {
				if c.Account != "fromcs" {
					return c.Account
				}
				return ""
			}},
		{name: "no container", cfg: Config{Account: "acct"}, wantErr: "no container"},
		{name: "no account", cfg: Config{Container: "c"}, wantErr: "AZURE_STORAGE_ACCOUNT"},
		{name: "lease too short", cfg: Config{Account: "a", Container: "c", LeaseDuration: 10 * time.Second}, wantErr: "15s to 1m0s"},
		{name: "lease too long", cfg: Config{Account: "a", Container: "c", LeaseDuration: 2 * time.Minute}, wantErr: "15s to 1m0s"},
		{name: "lease not whole seconds", cfg: Config{Account: "a", Container: "c", LeaseDuration: 20500 * time.Millisecond}, wantErr: "whole number"},
		{name: "prefix with dot-dot", cfg: Config{Account: "a", Container: "c", Prefix: "m/../n"}, wantErr: "prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.cfg.check()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("check: %v, want an error saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if bad := tt.check(got); bad != "" {
				t.Errorf("checked config: %s", bad)
			}
		})
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{EnvConnectionString: " cs ", EnvKey: "key", EnvAccount: "acct", "AZURE_OTHER": "x"}
	got := ConfigFromEnv(func(k string) string { return env[k] })
	if got.ConnectionString != "cs" || got.SharedKey != "key" || got.Account != "acct" {
		t.Errorf("ConfigFromEnv = %#v", got)
	}
}

// TestOpen signs in with wrong and malformed keys and
// connection strings: every error says what to do and none quotes the
// secret, nor does a printed Config; and it opens only a container that
// exists.
func TestOpen(t *testing.T) {
	t.Parallel()
	e := newEmulator(t)
	c := e.container()
	endpoint := strings.Split(strings.Split(e.conn, "BlobEndpoint=")[1], ";")[0]
	wrongKey := "V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3Jvbmc="
	wrongCS := strings.Replace(e.conn, azurite.Key, wrongKey, 1)
	tests := []struct {
		name   string
		cfg    Config
		secret string
		advice string
	}{
		{"wrong shared key", Config{Account: azurite.Account, Endpoint: endpoint, Container: c, SharedKey: wrongKey}, wrongKey, EnvKey},
		{"shared key not base64", Config{Account: azurite.Account, Endpoint: endpoint, Container: c, SharedKey: "not*base64*secret!"}, "not*base64*secret!", EnvKey},
		{"connection string with a wrong key", Config{Container: c, ConnectionString: wrongCS}, wrongKey, EnvConnectionString},
		{"malformed connection string", Config{Container: c, ConnectionString: "AccountKey=" + wrongKey + ";NoEndpoint"}, wrongKey, EnvConnectionString},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(context.Background(), tt.cfg)
			if err == nil {
				t.Fatal("Open succeeded")
			}
			msg := err.Error()
			t.Logf("Open: %s", msg)
			if strings.Contains(msg, tt.secret) || strings.Contains(msg, tt.cfg.ConnectionString) && tt.cfg.ConnectionString != "" {
				t.Errorf("the error quotes the secret: %s", msg)
			}
			if !strings.Contains(msg, tt.advice) {
				t.Errorf("error %q does not point to %s", msg, tt.advice)
			}
			for _, printed := range []string{fmt.Sprint(tt.cfg), fmt.Sprintf("%+v", tt.cfg), fmt.Sprintf("%#v", tt.cfg)} {
				if strings.Contains(printed, tt.secret) {
					t.Errorf("a printed Config shows the secret: %s", printed)
				}
			}
		})
	}
	t.Run("the right key opens", func(t *testing.T) {
		s, err := Open(context.Background(), Config{Account: azurite.Account, Endpoint: endpoint, Container: c, SharedKey: azurite.Key})
		if err != nil {
			t.Fatal(err)
		}
		if want := "azurerm: " + azurite.Account + "/" + c; s.String() != want {
			t.Errorf("String = %q, want %q", s.String(), want)
		}
	})
	t.Run("a missing container is not created", func(t *testing.T) {
		_, err := Open(context.Background(), e.config("nosuchcontainer", ""))
		if err == nil || !strings.Contains(err.Error(), "az storage container create") || !strings.Contains(err.Error(), "nosuchcontainer") {
			t.Errorf("Open of a missing container: %v; want how to create it", err)
		}
	})
}
