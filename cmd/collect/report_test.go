package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestReport collects the demo tenant's quickstart matter, writes the
// report in both formats, and checks what a reader finds in it: the
// per-mailbox counts the manifest holds, the custody checkpoint and the
// certification draft, and no request to anywhere. Where chromium is
// installed it renders the page headless and reads the counts from the
// rendered document.
func TestReport(t *testing.T) {
	dir := quickstartMatter(t)
	if code, out, errOut := runIn(t, dir, "apply", "-auto-approve"); code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errOut)
	}
	// What the manifest holds per mailbox, to find in the report.
	perMailbox := map[string]int{}
	for _, l := range readLinesOf(t, filepath.Join(dir, "collection", "manifest.jsonl")) {
		m := regexp.MustCompile(`"mailbox":"([^"]+)"`).FindStringSubmatch(l)
		perMailbox[m[1]]++
	}
	if len(perMailbox) < 2 {
		t.Fatalf("the demo collection has %d mailboxes, want 2 or more", len(perMailbox))
	}

	htmlFile := filepath.Join(dir, "report.html")
	code, out, errOut := runIn(t, dir, "report", "-out="+htmlFile)
	if code != 0 || !strings.Contains(string(out), "Wrote the collection report") {
		t.Fatalf("report: exit %d\n%s%s", code, out, errOut)
	}
	page, err := os.ReadFile(htmlFile)
	if err != nil {
		t.Fatal(err)
	}
	html := string(page)
	if m := regexp.MustCompile(`(?i)(src|href)\s*=\s*"?(https?:|//)|<script|<link|@import|url\(`).FindString(html); m != "" {
		t.Errorf("the report makes a request or runs a script: %q", m)
	}
	for mb, n := range perMailbox {
		row := regexp.MustCompile(`<tr class="mailbox"><td>` + regexp.QuoteMeta(mb) + `</td><td>jdoe</td><td class="n">` + strconv.Itoa(n) + `</td>`)
		if !row.MatchString(html) {
			t.Errorf("the report has no row for %s with %d messages", mb, n)
		}
	}
	for _, want := range []string{"<svg", "Chain of custody", "The custody log verifies", "collect/quickstart\n",
		"collect verify -custody -output=", "Certification (FRE 902(14))", "Signature</span>"} {
		if !strings.Contains(html, want) {
			t.Errorf("the report does not say %q", want)
		}
	}

	mdFile := filepath.Join(dir, "report.md")
	if code, out, errOut := runIn(t, dir, "report", "-format=md", "-out="+mdFile); code != 0 {
		t.Fatalf("report -format=md: exit %d\n%s%s", code, out, errOut)
	}
	md, err := os.ReadFile(mdFile)
	if err != nil {
		t.Fatal(err)
	}
	for mb, n := range perMailbox {
		if !strings.Contains(string(md), "| "+mb+" | jdoe | "+strconv.Itoa(n)+" |") {
			t.Errorf("the Markdown report has no row for %s with %d messages", mb, n)
		}
	}

	browser, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed: the report was checked as text, not rendered (.ci/run installs chromium in CI)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--user-data-dir="+t.TempDir(), "--dump-dom", "file://"+htmlFile)
	dom, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	// The rendered cells, one per field: "|mailbox|custodians|messages|".
	text := regexp.MustCompile(`(<[^>]+>)+`).ReplaceAllString(string(dom), "|")
	for mb, n := range perMailbox {
		if !strings.Contains(text, "|"+mb+"|jdoe|"+strconv.Itoa(n)+"|") {
			t.Errorf("the page chromium rendered has no row for %s with %d messages", mb, n)
		}
	}
	if !strings.Contains(text, "The custody log verifies") {
		t.Error("the rendered page does not say that the custody log verifies")
	}
}

func readLinesOf(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// quickstartMatter copies the quickstart example (the demo tenant) into a
// new folder and returns it.
func quickstartMatter(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src, err := os.ReadFile("../../examples/quickstart/matter.collect.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "matter.collect.hcl"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}
