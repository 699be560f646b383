package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/graph/graphsim"
)

// These tests run the real collect binary (the test binary under the name
// collect, as the scripts do) against a simulator served over HTTP.

const crashMatter = `matter "crash" {}

variable "tenant_id" {
  type = string
}

variable "client_id" {
  type = string
}

tenant {
  tenant_id = var.tenant_id
  client_id = var.client_id
  auth      = "client_secret"
}

custodian "ann" {
  email = "ann@sim.collect.invalid"
}

custodian "bob" {
  email = "bob@sim.collect.invalid"
}

mailbox "legal" {
  address = "legal@sim.collect.invalid"
}

output {
  hashes = ["sha256", "md5"]
}
`

// busyTenant is three mailboxes of generated mail, with the given faults.
func busyTenant(t *testing.T, perFolder int, cfg graphsim.Config) *graphsim.Server {
	t.Helper()
	cfg.Seed, cfg.Domain = 7, simDomain
	tn := graphsim.New(cfg)
	for _, u := range []graphsim.UserSpec{
		{UPN: "ann@" + simDomain}, {UPN: "bob@" + simDomain}, {UPN: "legal@" + simDomain, Kind: graphsim.SharedMailbox},
	} {
		if _, err := tn.AddUser(u); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"inbox", "sentitems", "archive"} {
			id, err := tn.FolderID(u.UPN, f)
			if err != nil {
				t.Fatal(err)
			}
			if err := tn.Populate(u.UPN, id, graphsim.Populate{
				Count: perFolder, Large: 1, LargeSize: 2 << 20,
				From: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC),
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	srv, err := graphsim.Start(tn, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// matterFor writes the crash matter into a new folder and returns it with
// the environment that points collect at the simulator.
func matterFor(t *testing.T, srv *graphsim.Server) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.collect.hcl"), []byte(crashMatter), 0o644); err != nil {
		t.Fatal(err)
	}
	c := srv.Tenant.Credentials()
	env := append(os.Environ(),
		"COLLECT_GRAPH_ENDPOINT="+srv.URL, "COLLECT_LOGIN_ENDPOINT="+srv.URL,
		"COLLECT_CLIENT_SECRET="+c.ClientSecret,
		"COLLECT_VAR_tenant_id="+c.TenantID, "COLLECT_VAR_client_id="+c.ClientID, "NO_COLOR=1")
	return dir, env
}

func collectCmd(t *testing.T, dir string, env []string, args ...string) *exec.Cmd {
	t.Helper()
	bin, err := exec.LookPath("collect")
	if err != nil {
		t.Fatalf("the collect command is not set up: %v", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Env = dir, env
	return cmd
}

func mustRun(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	out, err := collectCmd(t, dir, env, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("collect %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// collection reads an output folder's manifest: graph ID -> sha256, and
// fails the test on a line that appears twice.
func collection(t *testing.T, dir string) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "collection", "manifest.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e struct {
			Mailbox string `json:"mailbox"`
			GraphID string `json:"graph_id"`
			SHA256  string `json:"sha256"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("manifest line %q: %v", sc.Text(), err)
		}
		key := e.Mailbox + " " + e.GraphID
		if _, dup := out[key]; dup {
			t.Errorf("manifest lists %s twice", key)
		}
		out[key] = e.SHA256
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func sameCollection(t *testing.T, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("collected %d messages, the reference run %d", len(got), len(want))
	}
	var diffs []string
	for k, v := range want {
		if got[k] != v {
			diffs = append(diffs, fmt.Sprintf("%s: sha256 %q, reference %q", k, got[k], v))
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Errorf("%d messages differ from the reference run, first: %s", len(diffs), diffs[0])
	}
}

// leftovers lists temp files in an output folder.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(filepath.Join(dir, "collection"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasPrefix(d.Name(), ".partial-") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// TestCrashSafety kills apply with SIGKILL at 20 seeded random moments,
// with new mail arriving before each run, then lets it finish: the
// collection must verify, hold every message of the mailboxes exactly
// once with the bytes the server serves, and leave no temp file.
// runRecords lists the run records of the matter's output folder.
func runRecords(dir string) []string {
	files, _ := filepath.Glob(filepath.Join(dir, "collection", "runs", "*.json"))
	return files
}

// runRecorded waits until the folder holds more than had run records, or
// the run ends, or 30 seconds pass, and says when that was.
func runRecorded(dir string, had int, done <-chan error) time.Time {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && len(done) == 0 && len(runRecords(dir)) <= had {
		time.Sleep(2 * time.Millisecond)
	}
	return time.Now()
}

func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("kills apply 20 times: skipped with -short")
	}
	srv := busyTenant(t, 40, graphsim.Config{Latency: 2 * time.Millisecond})
	tn := srv.Tenant
	dir, env := matterFor(t, srv)
	rng := rand.New(rand.NewPCG(2026, 11))
	mailboxes := []string{"ann@" + simDomain, "bob@" + simDomain, "legal@" + simDomain}
	folders := []string{"inbox", "sentitems", "archive"}
	kills, runsBefore := 0, 0
	interrupted := map[string]bool{}
	// The moments start later on a machine slow to start a run and plan
	// it (a loaded one), so that some still fall after the run's start is
	// recorded: half the time a plan of the first round takes here.
	began := time.Now()
	mustRun(t, dir, env, "plan")
	startup := time.Since(began) / 2
	for i := range 20 {
		mb := mailboxes[rng.IntN(len(mailboxes))]
		fid, err := tn.FolderID(mb, folders[rng.IntN(len(folders))])
		if err != nil {
			t.Fatal(err)
		}
		for j := range 15 {
			if _, err := tn.Deliver(mb, fid, graphsim.MessageSpec{
				Subject: fmt.Sprintf("Run %d message %d", i, j), Received: time.Date(2024, 8, 1+i, j, 0, 0, 0, time.UTC),
			}); err != nil {
				t.Fatal(err)
			}
		}
		cmd := collectCmd(t, dir, env, "apply", "-auto-approve", "-input=false")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// A random moment of the run: during sign-in, planning, fetching or committing.
		at := startup + time.Duration(rng.IntN(400)+5)*time.Millisecond
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		if i%4 == 3 {
			// Every fourth run is killed a moment after it records its
			// start, however slow the machine: the moments above may all
			// fall before it on a loaded one.
			at = time.Until(runRecorded(dir, len(runRecords(dir)), done)) + time.Duration(20+rng.IntN(40))*time.Millisecond
		}
		select {
		case err := <-done:
			// Finished before the moment came: a complete run is fine too.
			if err != nil {
				t.Fatalf("run %d failed on its own: %v", i, err)
			}
		case <-time.After(at):
			cmd.Process.Signal(syscall.SIGKILL)
			<-done
			kills++
		}
		runs := shownRuns(t, dir, env)
		if len(runs) > 0 && len(runs) > runsBefore {
			last := runs[len(runs)-1]
			switch last.Status {
			case "interrupted":
				interrupted[last.RunID] = true
			case "complete":
			default:
				t.Errorf("run %d: show says the last run %s is %q; want complete, or interrupted when killed", i, last.RunID, last.Status)
			}
		}
		runsBefore = len(runs)
		everyLineHasARunRecord(t, dir)
	}
	t.Logf("%d of 20 runs killed, %d of them after they recorded their start", kills, len(interrupted))
	if len(interrupted) == 0 {
		t.Error("no run was killed after it recorded its start: the test tests little of the run records")
	}
	if kills < 10 {
		t.Errorf("only %d runs were killed: the moments fall too late to test anything", kills)
	}
	mustRun(t, dir, env, "apply", "-auto-approve", "-input=false")
	if out := mustRun(t, dir, env, "verify"); !strings.Contains(out, "Verified:") {
		t.Errorf("verify: %s", out)
	}
	// The custody log survived every kill: it holds every manifest line,
	// and the checkpoints of the runs that finished are prefixes of it.
	lines := len(collection(t, dir))
	out := mustRun(t, dir, env, "verify", "-custody", "-output=collection")
	if want := fmt.Sprintf("Custody verified: %d manifest lines included in the latest checkpoint", lines); !strings.Contains(out, want) {
		t.Errorf("verify -custody after the crashes: want %q in\n%s", want, out)
	}
	want := map[string]string{}
	for _, mb := range mailboxes {
		for _, f := range folders {
			fid, _ := tn.FolderID(mb, f)
			refs, err := tn.Messages(mb, fid)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range refs {
				b, err := tn.MIME(mb, r.ImmutableID)
				if err != nil {
					t.Fatal(err)
				}
				sum := sha256.Sum256(b)
				want[mb+" "+r.ImmutableID] = hex.EncodeToString(sum[:])
			}
		}
	}
	sameCollection(t, collection(t, dir), want)
	if l := leftovers(t, dir); len(l) > 0 {
		t.Errorf("temp files left: %v", l)
	}
	if out := mustRun(t, dir, env, "plan", "-detailed-exitcode"); !strings.Contains(out, "No changes") {
		t.Errorf("plan after the crashes and a final apply: %s", out)
	}
	// The applies after the kills closed the killed runs' records as
	// interrupted, in the state and in runs/.
	everyLineHasARunRecord(t, dir)
	for _, run := range shownRuns(t, dir, env) {
		if run.Status == "running" {
			t.Errorf("run %s is still marked running", run.RunID)
		}
		if !interrupted[run.RunID] {
			continue
		}
		var rec struct {
			Status string `json:"status"`
		}
		raw, err := os.ReadFile(filepath.Join(dir, "collection", "runs", run.RunID+".json"))
		if err == nil {
			err = json.Unmarshal(raw, &rec)
		}
		if err != nil || run.Status != "interrupted" || rec.Status != "interrupted" {
			t.Errorf("killed run %s: state says %q, runs/ says %q (%v)", run.RunID, run.Status, rec.Status, err)
		}
	}
}

type shownRun struct {
	RunID  string `json:"run_id"`
	Status string `json:"status"`
}

// shownRuns is the runs show -json lists.
func shownRuns(t *testing.T, dir string, env []string) []shownRun {
	t.Helper()
	out, err := collectCmd(t, dir, env, "show", "-json").Output()
	if err != nil {
		t.Fatalf("show -json: %v", err)
	}
	var doc struct {
		Runs []shownRun `json:"runs"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("show -json: %v\n%s", err, out)
	}
	return doc.Runs
}

// everyLineHasARunRecord checks that the run each manifest line names has
// its runs/<run-id>.json.
func everyLineHasARunRecord(t *testing.T, dir string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "collection", "manifest.jsonl"))
	if os.IsNotExist(err) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var e struct {
			RunID string `json:"run_id"`
		}
		if line == "" || json.Unmarshal([]byte(line), &e) != nil || seen[e.RunID] {
			continue
		}
		seen[e.RunID] = true
		if _, err := os.Stat(filepath.Join(dir, "collection", "runs", e.RunID+".json")); err != nil {
			t.Errorf("manifest lines name run %q, which has no run record: %v", e.RunID, err)
		}
	}
}

// TestApplyThroughFaults collects through 429 storms, 503s, server errors,
// resets, truncated bodies and revoked tokens: the result must be the same,
// byte for byte, as a collection without faults.
func TestApplyThroughFaults(t *testing.T) {
	clean := busyTenant(t, 25, graphsim.Config{})
	refDir, refEnv := matterFor(t, clean)
	mustRun(t, refDir, refEnv, "apply", "-auto-approve", "-input=false")

	faulty := busyTenant(t, 25, graphsim.Config{
		Limits: graphsim.Limits{RetryAfterStyle: graphsim.RetryAfterFractional, ConcurrencyWait: 50 * time.Millisecond},
		Faults: graphsim.FaultRates{
			Throttle: 0.03, StormLength: 3, Unavailable: 0.02, ServerError: 0.02, BadGateway: 0.01,
			GatewayTimeout: 0.01, Reset: 0.02, Truncate: 0.05, Unauthorized: 0.01, RetryAfter: 50 * time.Millisecond,
		},
	})
	dir, env := matterFor(t, faulty)
	out := mustRun(t, dir, env, "apply", "-auto-approve", "-input=false")
	if !strings.Contains(out, "Apply complete!") {
		t.Fatalf("apply through faults: %s", out)
	}
	c := faulty.Tenant.Counters()
	var faults int64
	for _, mc := range c.Mailboxes {
		faults += mc.Faults
	}
	if faults < 10 {
		t.Errorf("only %d faults were injected: the test tests little", faults)
	}
	t.Logf("%d faults injected, %d requests, %d throttled", faults, c.Requests, c.Throttled)
	sameCollection(t, collection(t, dir), collection(t, refDir))
	mustRun(t, dir, env, "verify")
}

// TestApplyDiskFull fills a small file system under the output folder:
// apply stops with a clear error, records nothing that is not on disk, and
// completes once space is freed.
func TestApplyDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	srv := busyTenant(t, 20, graphsim.Config{})
	refDir, env := matterFor(t, srv)
	mustRun(t, refDir, env, "apply", "-auto-approve", "-input=false")

	dir, env := matterFor(t, srv)
	mnt := filepath.Join(dir, "collection")
	if err := os.MkdirAll(mnt, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })

	cmd := collectCmd(t, dir, env, "apply", "-auto-approve", "-input=false")
	out, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); err == nil || code != exitError {
		t.Fatalf("apply on a full disk: exit %d, want %d\n%s", code, exitError, out)
	}
	for _, want := range []string{"disk", "full", "free space", "re-run apply", "continues where this run stopped"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the error does not say %q:\n%s", want, out)
		}
	}
	// What is recorded verifies: nothing was recorded without its bytes.
	if out := mustRun(t, dir, env, "verify"); !strings.Contains(out, "Verified:") {
		t.Errorf("verify after the disk filled: %s", out)
	}
	if out, err := exec.Command("mount", "-o", "remount,size=64m", mnt).CombinedOutput(); err != nil {
		t.Fatalf("growing the tmpfs: %v %s", err, out)
	}
	mustRun(t, dir, env, "apply", "-auto-approve", "-input=false")
	mustRun(t, dir, env, "verify")
	sameCollection(t, collection(t, dir), collection(t, refDir))
	if l := leftovers(t, dir); len(l) > 0 {
		t.Errorf("temp files left: %v", l)
	}
}
