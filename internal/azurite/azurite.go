// Package azurite runs Azurite, Microsoft's Azure Storage emulator, for the
// tests of the Azure Blob Storage backend: one in-memory blob service per
// test on a free loopback port, stopped when the test ends.
package azurite

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Azurite's development account, the same in every installation and
// documented by Microsoft; it guards nothing.
const (
	Account = "devstoreaccount1"
	Key     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// EnvBinary names an azurite-blob to run instead of the one found on PATH.
const EnvBinary = "AZURITE_BLOB"

const install = "install it with `npm install -g azurite` (or run .ci/run, which installs it under ~/.cache/collect-ci/azurite), or set " + EnvBinary + " to its azurite-blob"

// startTimeout bounds how long Azurite may take to listen; it starts in
// about two seconds on a loaded two-core machine.
const startTimeout = 60 * time.Second

var listening = regexp.MustCompile(`listens on (http://127\.0\.0\.1:(\d+))`)

// Start runs azurite-blob for t and returns the connection string of its
// development account. Without Azurite the test is skipped, saying how to
// install it, except under CI (CI=true), where it fails: CI must run these
// tests.
func Start(t testing.TB) (connString string) {
	t.Helper()
	bin, err := find()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("azurite: %v; CI must run the Azure Blob Storage tests: %s", err, install)
		}
		t.Skipf("azurite: %v; %s", err, install)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	// Port 0: Azurite takes a free port and says which, so two tests never
	// race for one.
	cmd := exec.CommandContext(ctx, bin,
		"--blobHost", "127.0.0.1", "--blobPort", "0",
		"--inMemoryPersistence", "--extentMemoryLimit", "512",
		"--skipApiVersionCheck", "--disableTelemetry", "--silent")
	cmd.Dir = dir
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second // then it is killed
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatalf("azurite: %v", err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("azurite: starting %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cancel()
		<-exited
	})

	endpoint := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				endpoint <- m[1]
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	var url string
	select {
	case url = <-endpoint:
	case err := <-exited:
		exited <- err
		t.Fatalf("azurite: %s exited before listening (%v): %s", bin, err, stderr.String())
	case <-time.After(startTimeout):
		t.Fatalf("azurite: %s did not listen within %s: %s", bin, startTimeout, stderr.String())
	}
	if err := answers(strings.TrimPrefix(url, "http://")); err != nil {
		t.Fatalf("azurite: %v", err)
	}
	return fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=%s/%s;",
		Account, Key, url, Account)
}

// find looks for azurite-blob: AZURITE_BLOB, then PATH, then the
// node_modules folders of the working directory and its parents, then
// where .ci/run installs it.
func find() (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvBinary, p, err)
		}
		return p, nil
	}
	if _, err := exec.LookPath("node"); err != nil {
		return "", fmt.Errorf("node is not on PATH (Azurite runs on Node.js)")
	}
	if p, err := exec.LookPath("azurite-blob"); err == nil {
		return p, nil
	}
	var dirs []string
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			dirs = append(dirs, filepath.Join(d, "node_modules", ".bin"))
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".cache", "collect-ci", "azurite", "node_modules", ".bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "azurite-blob")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("azurite-blob is not on PATH nor in a node_modules folder")
}

// answers waits until addr accepts a connection.
func answers(addr string) error {
	deadline := time.Now().Add(startTimeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s does not answer: %w", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
