package azurite

import (
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"testing"
)

func TestStartServesTheDevAccount(t *testing.T) {
	conn := Start(t)
	m := regexp.MustCompile(`^DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=` + regexp.QuoteMeta(Key) + `;BlobEndpoint=(http://127\.0\.0\.1:(\d+))/devstoreaccount1;$`).FindStringSubmatch(conn)
	if m == nil {
		t.Fatalf("connection string %q is not the dev account's on a loopback port", conn)
	}
	// An unsigned request is refused by the blob service, not by a
	// missing listener.
	resp, err := http.Get(m[1] + "/devstoreaccount1?comp=list")
	if err != nil {
		t.Fatalf("the blob service does not answer: %v", err)
	}
	resp.Body.Close()
	if resp.Header.Get("x-ms-request-id") == "" {
		t.Errorf("the answer (%s) is not from a blob service: no x-ms-request-id", resp.Status)
	}
}

func TestStartStopsAtCleanup(t *testing.T) {
	var addr string
	t.Run("run", func(t *testing.T) {
		conn := Start(t)
		addr = regexp.MustCompile(`127\.0\.0\.1:\d+`).FindString(conn)
	})
	if addr == "" {
		t.Skip("Azurite did not run")
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Errorf("Azurite still listens on %s after its test ended", addr)
	}
}

func TestFindTakesAnExplicitPath(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "azurite-blob")
	t.Setenv(EnvBinary, missing)
	if _, err := find(); err == nil {
		t.Errorf("find with %s=%s (no such file) succeeded", EnvBinary, missing)
	}
}
