package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/collect-ediscovery/collect/graph/graphsim"
)

// The end-to-end benchmarks run the real collect binary as a separate
// process against a simulated tenant served over HTTP, so that the
// child's peak RSS (getrusage's ru_maxrss) is collect's own. They take
// minutes; run them one at a time, for example:
//
//	go test ./cmd/collect -run '^$' -bench 'Plan' -benchtime 1x
//
// Metrics are reported per run of the binary, not per b.N iteration:
// use -benchtime 1x.

// benchTLS serves the benchmarks' simulated tenant over TLS with HTTP/2,
// as Graph is served, instead of plain HTTP/1.1:
//
//	go test ./cmd/collect -run '^$' -bench ApplyLatency -benchtime 1x -tls
//
// collect trusts the simulator's certificate only because the test binary
// hands it the certificate (benchRootsEnv, read by runChild).
var benchTLS = flag.Bool("tls", false, "benchmarks: serve the simulated tenant over TLS with HTTP/2")

// benchRootsEnv names the PEM file of certificates the collect child of a
// benchmark trusts. Only the test binary reads it.
const benchRootsEnv = "COLLECT_BENCH_ROOTS"

// benchWorld is a simulated tenant of mailboxes m000@, m001@, ..., served
// on loopback.
type benchWorld struct {
	srv       *graphsim.Server
	tn        *graphsim.Tenant
	mailboxes []string
	roots     string // with -tls, the PEM file of the server's certificate
	// requestLimit, when set, is the matter's mailbox_request_limit: a
	// mailbox of more than 10,000 messages needs more than Graph's 10,000
	// requests per 10 minutes, which collect keeps to by default.
	requestLimit int
}

// newBenchWorld adds n user mailboxes and fills each inbox with fill.
func newBenchWorld(tb testing.TB, cfg graphsim.Config, n int, fill func(tn *graphsim.Tenant, upn, inbox string) error) *benchWorld {
	tb.Helper()
	cfg.Seed, cfg.Domain = 2026, simDomain
	tn := graphsim.New(cfg)
	w := &benchWorld{tn: tn}
	for i := range n {
		upn := fmt.Sprintf("m%03d@%s", i, simDomain)
		if _, err := tn.AddUser(graphsim.UserSpec{UPN: upn}); err != nil {
			tb.Fatal(err)
		}
		inbox, err := tn.FolderID(upn, "inbox")
		if err != nil {
			tb.Fatal(err)
		}
		if err := fill(tn, upn, inbox); err != nil {
			tb.Fatal(err)
		}
		w.mailboxes = append(w.mailboxes, upn)
	}
	// Bodies made ahead: $value then costs the simulator a copy of bytes,
	// not their generation, and the benchmark measures collect.
	bodies, size := tn.PrepareBodies()
	tb.Logf("the simulator serves %d bodies prepared ahead (%.1f MB)", bodies, float64(size)/(1<<20))
	if *benchTLS {
		w.srv = graphsim.StartTLS(tn)
		w.roots = filepath.Join(tb.TempDir(), "roots.pem")
		pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: w.srv.Certificate().Raw})
		if err := os.WriteFile(w.roots, pemBytes, 0o600); err != nil {
			tb.Fatal(err)
		}
	} else {
		srv, err := graphsim.Start(tn, "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		w.srv = srv
	}
	tb.Cleanup(func() { w.srv.Close() })
	return w
}

// populated fills an inbox with count generated messages of natural size
// (2 to 60 KB), large of them largeSize bytes.
func populated(count, large int, largeSize int64) func(*graphsim.Tenant, string, string) error {
	return func(tn *graphsim.Tenant, upn, inbox string) error {
		return tn.Populate(upn, inbox, graphsim.Populate{
			Count: count, Large: large, LargeSize: largeSize,
			From: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		})
	}
}

// delivered fills an inbox with count messages of about size bytes each.
func delivered(count int, size int64) func(*graphsim.Tenant, string, string) error {
	return func(tn *graphsim.Tenant, upn, inbox string) error {
		start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := range count {
			if _, err := tn.Deliver(upn, inbox, graphsim.MessageSpec{Size: size, Received: start.Add(time.Duration(i) * time.Minute)}); err != nil {
				return err
			}
		}
		return nil
	}
}

// verbatim fills an inbox with count small messages (about 2 KB) given as
// verbatim MIME, each with its own Message-ID and text: generated
// messages are never smaller than a few KB.
func verbatim(count int) func(*graphsim.Tenant, string, string) error {
	return func(tn *graphsim.Tenant, upn, inbox string) error {
		start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		line := strings.Repeat("The quarterly numbers are attached as discussed in the meeting. ", 2)
		for i := range count {
			at := start.Add(time.Duration(i) * time.Minute)
			var m strings.Builder
			fmt.Fprintf(&m, "From: Sender %d <sender%d@example.invalid>\r\nTo: <%s>\r\nSubject: Small message %d\r\n", i%97, i%97, upn, i)
			fmt.Fprintf(&m, "Date: %s\r\nMessage-ID: <%d.%s>\r\nMIME-Version: 1.0\r\n", at.Format(time.RFC1123Z), i, upn)
			m.WriteString("Content-Type: text/plain; charset=\"us-ascii\"\r\n\r\n")
			for j := range 14 {
				fmt.Fprintf(&m, "%d.%d %s\r\n", i, j, line)
			}
			if _, err := tn.Deliver(upn, inbox, graphsim.MessageSpec{MIME: []byte(m.String()), Received: at}); err != nil {
				return err
			}
		}
		return nil
	}
}

// matter writes a matter naming every mailbox of the world into a new
// folder, and returns it with the environment that reaches the simulator.
func (w *benchWorld) matter(tb testing.TB) (string, []string) {
	tb.Helper()
	var b strings.Builder
	b.WriteString(`matter "bench" {}

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
`)
	if w.requestLimit > 0 {
		fmt.Fprintf(&b, "  mailbox_request_limit = %d\n", w.requestLimit)
	}
	b.WriteString(`}

output {
  hashes = ["sha256"]
}
`)
	for _, upn := range w.mailboxes {
		fmt.Fprintf(&b, "\nmailbox %q {\n  address = %q\n}\n", strings.SplitN(upn, "@", 2)[0], upn)
	}
	dir := tb.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.collect.hcl"), []byte(b.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	c := w.tn.Credentials()
	env := append(os.Environ(),
		"COLLECT_GRAPH_ENDPOINT="+w.srv.URL, "COLLECT_LOGIN_ENDPOINT="+w.srv.URL,
		"COLLECT_CLIENT_SECRET="+c.ClientSecret,
		"COLLECT_VAR_tenant_id="+c.TenantID, "COLLECT_VAR_client_id="+c.ClientID, "NO_COLOR=1")
	if w.roots != "" {
		env = append(env, benchRootsEnv+"="+w.roots)
	}
	return dir, env
}

// childRun is one run of the collect binary.
type childRun struct {
	wall time.Duration
	cpu  time.Duration // user + system, of collect alone
	sys  time.Duration // the system part of cpu: the kernel's work for collect
	// simCPU is this process's CPU time while collect ran: the simulator
	// serving it, and the benchmark's memory sampling.
	simCPU time.Duration
	// conns is how many connections collect opened to the simulator.
	conns int64
	// maxRSS is the child's peak RSS in KiB. getrusage's ru_maxrss alone
	// is not it: os/exec starts the child with vfork semantics, and Linux
	// carries the parent's (this test process's, simulator included)
	// high-water mark into the child at exec. So ru_maxrss is used only
	// when it exceeds this process's own high-water mark at the start;
	// otherwise the child's VmHWM, sampled every 10 ms, is (exact=false).
	maxRSS int64
	exact  bool
	rusage int64 // ru_maxrss as reported, KiB
	// peak splits the largest sampled RSS into anonymous memory (Go heap,
	// stacks) and file-backed pages (the binary, the state's mmap), KiB.
	peak   memSample
	code   int
	stdout string
	stderr string
}

type memSample struct{ rss, hwm, anon, file int64 }

func (r childRun) ms() float64 { return float64(r.wall) / float64(time.Millisecond) }
func (r childRun) mb() float64 { return float64(r.maxRSS) / 1024 }

// memString says how a peak was measured.
func (r childRun) memString() string {
	how := "ru_maxrss"
	if !r.exact {
		how = "sampled VmHWM"
	}
	return fmt.Sprintf("peak RSS %.1f MB (%s); largest sampled RSS %.1f MB = %.1f MB anonymous + %.1f MB file-backed",
		r.mb(), how, float64(r.peak.rss)/1024, float64(r.peak.anon)/1024, float64(r.peak.file)/1024)
}

// run runs collect against the world (see runCollect), counting the
// connections it opened; with -tls it fails unless every request of the
// run came over HTTP/2.
func (w *benchWorld) run(tb testing.TB, dir string, env []string, ok []int, args ...string) childRun {
	tb.Helper()
	conns, before := w.srv.Connections(), w.tn.Counters()
	r := runCollect(tb, dir, env, ok, args...)
	after := w.tn.Counters()
	r.conns = w.srv.Connections() - conns
	if reqs, h2 := after.Requests-before.Requests, after.HTTP2-before.HTTP2; *benchTLS && (h2 != reqs || reqs == 0) {
		tb.Fatalf("collect %s sent %d of its %d requests over HTTP/2, want all", args[0], h2, reqs)
	}
	return r
}

// runCollect runs collect in dir and fails unless it exits with one of
// the codes in ok (0 when none is given).
func runCollect(tb testing.TB, dir string, env []string, ok []int, args ...string) childRun {
	tb.Helper()
	bin, err := exec.LookPath("collect")
	if err != nil {
		tb.Fatalf("the collect command is not set up: %v", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Env = dir, env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	self := readMem("/proc/self/status")
	selfCPU := processCPU()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		tb.Fatalf("collect %s did not start: %v", strings.Join(args, " "), err)
	}
	done := make(chan struct{})
	sampled := make(chan [2]memSample)
	go func() { sampled <- sampleMem(cmd.Process.Pid, done) }()
	err = cmd.Wait()
	close(done)
	s := <-sampled
	r := childRun{wall: time.Since(start), stdout: stdout.String(), stderr: stderr.String(), peak: s[0], simCPU: processCPU() - selfCPU}
	r.code = cmd.ProcessState.ExitCode()
	r.rusage = cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
	r.cpu, r.sys = cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime(), cmd.ProcessState.SystemTime()
	if r.rusage > self.hwm {
		r.maxRSS, r.exact = r.rusage, true
	} else {
		r.maxRSS = s[1].hwm
	}
	if len(ok) == 0 {
		ok = []int{0}
	}
	for _, c := range ok {
		if r.code == c {
			return r
		}
	}
	tb.Fatalf("collect %s exited %d (want %v)\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, ok, tail(r.stdout), tail(r.stderr))
	return r
}

// processCPU is this process's user and system time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports collect's CPU seconds per 1,000 messages of a run (and
// the kernel's part of them) and the simulator's CPU seconds beside them. collect runs as a child
// process: its rusage holds none of the simulator's work.
func reportCPU(b *testing.B, r childRun, messages int64) {
	b.Helper()
	if messages > 0 {
		b.ReportMetric(r.cpu.Seconds()/float64(messages)*1000, "cpu-s/1k-msgs")
		b.ReportMetric(r.sys.Seconds()/float64(messages)*1000, "sys-s/1k-msgs")
	}
	b.ReportMetric(r.cpu.Seconds(), "collect-cpu-s")
	b.ReportMetric(r.simCPU.Seconds(), "sim-cpu-s")
	b.ReportMetric(float64(r.conns), "conns")
}

func readMem(path string) memSample {
	var m memSample
	b, err := os.ReadFile(path)
	if err != nil {
		return m
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		var v int64
		fmt.Sscan(f[1], &v)
		switch f[0] {
		case "VmRSS:":
			m.rss = v
		case "VmHWM:":
			m.hwm = v
		case "RssAnon:":
			m.anon = v
		case "RssFile:":
			m.file = v
		}
	}
	return m
}

// sampleMem reads the memory of process pid every 10 ms until done is
// closed. It returns the sample with the largest RSS, and the last
// sample with a high-water mark.
func sampleMem(pid int, done <-chan struct{}) [2]memSample {
	path := fmt.Sprintf("/proc/%d/status", pid)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var peak, last memSample
	for {
		if m := readMem(path); m.hwm > 0 {
			last = m
			if m.rss > peak.rss {
				peak = m
			}
		}
		select {
		case <-done:
			return [2]memSample{peak, last}
		case <-tick.C:
		}
	}
}

func tail(s string) string {
	if len(s) > 4000 {
		return "..." + s[len(s)-4000:]
	}
	return s
}

// benchApplyResult is the result line of apply -json.
func benchApplyResult(tb testing.TB, r childRun) applyResult {
	tb.Helper()
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var rep applyResult
		if json.Unmarshal(sc.Bytes(), &rep) == nil && rep.Type == "result" {
			return rep
		}
	}
	tb.Fatalf("apply -json printed no result:\n%s", tail(r.stdout))
	return applyResult{}
}

// graphRequests counts the Graph requests in c: everything but sign-in.
func graphRequests(c graphsim.Counters) int64 {
	return c.Requests - c.ByRoute[graphsim.RouteToken] - c.ByRoute[graphsim.RouteDeviceCode]
}

func routeSummary(c graphsim.Counters) string {
	var parts []string
	for _, r := range sortedRoutes(c.ByRoute) {
		parts = append(parts, fmt.Sprintf("%s=%d", r, c.ByRoute[r]))
	}
	return strings.Join(parts, " ")
}

func sortedRoutes(m map[graphsim.Route]int64) []graphsim.Route {
	var out []graphsim.Route
	for r := range m {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// loadAverage is the 1-minute load average, for the record of a run.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

func manifestLines(tb testing.TB, dir string) int {
	tb.Helper()
	f, err := os.Open(filepath.Join(dir, "collection", "manifest.jsonl"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		n++
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return n
}

// benchPlanDoc is the part of plan -json the benchmarks read.
type benchPlanDoc struct {
	Mailboxes []struct {
		Resolved struct {
			Address string `json:"address"`
		} `json:"resolved"`
		Folders []struct {
			Path   string `json:"path"`
			Cursor string `json:"cursor"`
		} `json:"folders"`
	} `json:"mailboxes"`
	Counts struct {
		ToCollect int64 `json:"to_collect"`
		Seen      int64 `json:"seen"`
	} `json:"counts"`
}

// BenchmarkPlan measures plan for 1 mailbox of 100,000 messages and for
// 100 mailboxes of 1,000 (small verbatim messages: the plan reads no
// body, and the apply in between stays short): the first plan against no state, then a re-plan
// with nothing changed after a full apply, which must make one delta
// request per folder and list the folders, nothing more.
func BenchmarkPlan(b *testing.B) {
	for _, shape := range []struct {
		name                string
		mailboxes, messages int
	}{
		{"1x100000", 1, 100000},
		{"100x1000", 100, 1000},
	} {
		b.Run(shape.name, func(b *testing.B) {
			// The apply that builds the state for the re-plan fetches 100,000
			// messages of one mailbox: Graph's 10,000 requests per 10 minutes
			// per mailbox are lifted in the simulator and in the matter.
			w := newBenchWorld(b, graphsim.Config{Limits: graphsim.Limits{WindowRequests: -1}}, shape.mailboxes, verbatim(shape.messages))
			w.requestLimit = 1_000_000
			total := int64(shape.mailboxes * shape.messages)
			for range b.N {
				dir, env := w.matter(b)
				b.Logf("load average before: %s", loadAverage())

				w.tn.ResetCounters()
				first := w.run(b, dir, env, []int{exitChanges}, "plan", "-detailed-exitcode", "-input=false")
				fc := w.tn.Counters()
				if want := fmt.Sprintf("%s to collect", commas(int64(shape.messages))); !strings.Contains(first.stdout, want) {
					b.Fatalf("first plan does not say %q:\n%s", want, tail(first.stdout))
				}

				ap := w.run(b, dir, env, nil, "apply", "-auto-approve", "-input=false", "-json", "-parallelism=20")
				rep := benchApplyResult(b, ap)
				if !rep.Complete || rep.Collected != total {
					b.Fatalf("apply collected %d of %d (complete %v)", rep.Collected, total, rep.Complete)
				}

				w.tn.ResetCounters()
				re := w.run(b, dir, env, []int{exitOK}, "plan", "-detailed-exitcode", "-input=false", "-json")
				rc := w.tn.Counters()
				var doc benchPlanDoc
				if err := json.Unmarshal([]byte(re.stdout), &doc); err != nil {
					b.Fatalf("plan -json: %v\n%s", err, tail(re.stdout))
				}
				if doc.Counts.ToCollect != 0 {
					b.Fatalf("re-plan after apply wants to collect %d messages", doc.Counts.ToCollect)
				}
				checkReplanRequests(b, doc, fc, rc)

				b.ReportMetric(first.ms(), "plan-ms")
				b.ReportMetric(first.mb(), "plan-MB")
				b.ReportMetric(re.ms(), "replan-ms")
				b.ReportMetric(re.mb(), "replan-MB")
				b.ReportMetric(float64(graphRequests(fc)), "plan-reqs")
				b.ReportMetric(float64(graphRequests(rc)), "replan-reqs")
				b.ReportMetric(ap.wall.Seconds(), "apply-s")
				b.ReportMetric(ap.mb(), "apply-MB")
				reportCPU(b, ap, rep.Collected)
				b.Logf("first plan: %.0f ms, %s; requests: %s", first.ms(), first.memString(), routeSummary(fc))
				b.Logf("apply (-auto-approve, plans again): %.1f s, %s, %d messages, %.1f MB",
					ap.wall.Seconds(), ap.memString(), rep.Collected, float64(rep.Bytes)/(1<<20))
				b.Logf("no-change re-plan: %.0f ms, %s; requests: %s", re.ms(), re.memString(), routeSummary(rc))
				b.Logf("load average after: %s", loadAverage())
			}
		})
	}
}

// checkReplanRequests asserts that a re-plan with nothing changed made
// exactly one delta request per folder in scope, and otherwise only the
// requests that resolve the mailbox and list its folders: the listing
// pages the first plan read, and by name only the inbox (the resolve) and
// Recoverable Items Deletions, the well-known IDs coming from the state.
func checkReplanRequests(b *testing.B, doc benchPlanDoc, first, re graphsim.Counters) {
	b.Helper()
	for _, mb := range doc.Mailboxes {
		mc, ok := re.Mailboxes[mb.Resolved.Address]
		if !ok {
			b.Fatalf("the re-plan made no request for %s", mb.Resolved.Address)
		}
		for _, f := range mb.Folders {
			if f.Cursor == "" {
				b.Errorf("%s %q was enumerated from scratch on the re-plan", mb.Resolved.Address, f.Path)
			}
		}
		if got := mc.ByRoute[graphsim.RouteDelta]; got != int64(len(mb.Folders)) {
			b.Errorf("%s: %d delta requests for %d folders on a no-change re-plan", mb.Resolved.Address, got, len(mb.Folders))
		}
		fc := first.Mailboxes[mb.Resolved.Address]
		for _, r := range sortedRoutes(mc.ByRoute) {
			if r == graphsim.RouteDelta {
				continue
			}
			if r == graphsim.RouteMailFolder {
				if mc.ByRoute[r] != 2 {
					b.Errorf("%s: %d folders asked by name on the re-plan (%d on the first plan), want 2: the inbox and Recoverable Items Deletions",
						mb.Resolved.Address, mc.ByRoute[r], fc.ByRoute[r])
				}
				continue
			}
			if mc.ByRoute[r] != fc.ByRoute[r] {
				b.Errorf("%s: %d %s requests on the re-plan, %d on the first plan", mb.Resolved.Address, mc.ByRoute[r], r, fc.ByRoute[r])
			}
		}
		for _, r := range []graphsim.Route{graphsim.RouteMessages, graphsim.RouteMessage, graphsim.RouteValue} {
			if mc.ByRoute[r] != 0 {
				b.Errorf("%s: %d %s requests on a re-plan", mb.Resolved.Address, mc.ByRoute[r], r)
			}
		}
	}
	if len(doc.Mailboxes) == 0 {
		b.Fatal("the re-plan lists no mailbox")
	}
}

// BenchmarkApplyThroughput collects 5,000 messages at zero latency from
// 10 mailboxes, from a saved plan, and compares the rate with a baseline
// that only writes, hashes (SHA-256) and syncs the same bytes, one syncfs
// per 256 files, as the store's batches do. "natural" are generated
// messages of 2 to 60 KB; "50KB" are messages of about 50 KB.
func BenchmarkApplyThroughput(b *testing.B) {
	const mailboxes, perMailbox = 10, 500
	for _, shape := range []struct {
		name string
		fill func(*graphsim.Tenant, string, string) error
	}{
		{"natural", populated(perMailbox, 0, 0)},
		{"50KB", delivered(perMailbox, 50<<10)},
	} {
		b.Run(shape.name, func(b *testing.B) {
			w := newBenchWorld(b, graphsim.Config{}, mailboxes, shape.fill)
			for range b.N {
				dir, env := w.matter(b)
				w.run(b, dir, env, []int{exitChanges}, "plan", "-detailed-exitcode", "-input=false", "-out=bench.plan")
				b.Logf("load average before: %s", loadAverage())
				w.tn.ResetCounters()
				ap := w.run(b, dir, env, nil, "apply", "-json", "-parallelism=10", "bench.plan")
				c := w.tn.Counters()
				rep := benchApplyResult(b, ap)
				if !rep.Complete || rep.Collected != mailboxes*perMailbox {
					b.Fatalf("apply collected %d of %d (complete %v)", rep.Collected, mailboxes*perMailbox, rep.Complete)
				}
				if n := manifestLines(b, dir); n != mailboxes*perMailbox {
					b.Fatalf("the manifest has %d lines, want %d", n, mailboxes*perMailbox)
				}
				var valueBytes int64
				for _, mc := range c.Mailboxes {
					valueBytes += mc.ValueBytes
				}
				if valueBytes < rep.Bytes {
					b.Errorf("the simulator served %d bytes, apply recorded %d", valueBytes, rep.Bytes)
				}
				if extra := c.ByRoute[graphsim.RouteValue] - rep.Collected; extra != 0 {
					b.Logf("%d $value requests more than messages (statuses %v, %d throttled, %d bytes served beyond what was recorded)",
						extra, c.ByStatus, c.Throttled, valueBytes-rep.Bytes)
				}

				base := baselineRate(b, w)
				msgs := float64(rep.Collected) / ap.wall.Seconds()
				mbs := float64(rep.Bytes) / (1 << 20) / ap.wall.Seconds()
				b.ReportMetric(msgs, "msgs/s")
				b.ReportMetric(mbs, "MB/s")
				b.ReportMetric(float64(rep.Bytes)/float64(rep.Collected)/1024, "mean-KB")
				b.ReportMetric(base.msgs, "baseline-msgs/s")
				b.ReportMetric(base.mbs, "baseline-MB/s")
				b.ReportMetric(msgs/base.msgs, "ratio")
				b.ReportMetric(ap.mb(), "apply-MB")
				reportCPU(b, ap, rep.Collected)
				b.Logf("apply: %d messages, %.1f MB (mean %.1f KB) in %.2f s (child CPU %.2f s): %.0f msgs/s, %.1f MB/s, peak RSS %.1f MB; requests: %s",
					rep.Collected, float64(rep.Bytes)/(1<<20), float64(rep.Bytes)/float64(rep.Collected)/1024, ap.wall.Seconds(),
					ap.cpu.Seconds(), msgs, mbs, ap.mb(), routeSummary(c))
				b.Logf("apply memory: %s", ap.memString())
				b.Logf("baseline (write+sha256+syncfs/256): %.0f msgs/s, %.1f MB/s, %.3f CPU s per 1,000; apply/baseline %.2f; apply used %.3f CPU s per 1,000, the simulator %.2f s; the simulator alone copies %.0f msgs/s",
					base.msgs, base.mbs, base.cpuPer1k, msgs/base.msgs, ap.cpu.Seconds()/float64(rep.Collected)*1000, ap.simCPU.Seconds(), base.simMsgs)
				b.ReportMetric(base.simMsgs, "sim-only-msgs/s")
				b.ReportMetric(base.cpuPer1k, "baseline-cpu-s/1k-msgs")
				b.Logf("load average after: %s", loadAverage())
			}
		})
	}
}

type rate struct {
	msgs, mbs, simMsgs float64
	cpuPer1k           float64 // CPU seconds per 1,000 messages
}

// baselineRate writes every message of the world to files with SHA-256,
// GOMAXPROCS writers at once, with one syncfs per 256 files.
func baselineRate(b *testing.B, w *benchWorld) rate {
	b.Helper()
	type job struct{ upn, id string }
	var jobs []job
	for _, upn := range w.mailboxes {
		inbox, err := w.tn.FolderID(upn, "inbox")
		if err != nil {
			b.Fatal(err)
		}
		refs, err := w.tn.Messages(upn, inbox)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range refs {
			jobs = append(jobs, job{upn, r.ImmutableID})
		}
	}
	dir := b.TempDir()
	d, err := os.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	workers := runtime.GOMAXPROCS(0)
	var total int64
	start, startCPU := time.Now(), processCPU()
	for lo := 0; lo < len(jobs); lo += 256 {
		batch := jobs[lo:min(lo+256, len(jobs))]
		var mu sync.Mutex
		var firstErr error
		var wg sync.WaitGroup
		next := make(chan int)
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					n, err := writeHashed(filepath.Join(dir, fmt.Sprintf("%06d.eml", lo+i)), w.tn, batch[i].upn, batch[i].id)
					mu.Lock()
					total += n
					if err != nil && firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}()
		}
		for i := range batch {
			next <- i
		}
		close(next)
		wg.Wait()
		if firstErr != nil {
			b.Fatal(firstErr)
		}
		if err := unix.Syncfs(int(d.Fd())); err != nil {
			b.Fatal(err)
		}
	}
	el, cpu := time.Since(start).Seconds(), (processCPU() - startCPU).Seconds()
	// What the simulator's copy of the bytes alone costs, on one core.
	simStart := time.Now()
	for _, j := range jobs {
		if _, err := w.tn.WriteMIME(j.upn, j.id, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	sim := time.Since(simStart).Seconds()
	return rate{msgs: float64(len(jobs)) / el, mbs: float64(total) / (1 << 20) / el, simMsgs: float64(len(jobs)) / sim,
		cpuPer1k: cpu / float64(len(jobs)) * 1000}
}

func writeHashed(path string, tn *graphsim.Tenant, upn, id string) (int64, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, err
	}
	h := sha256.New()
	buf := bufio.NewWriterSize(f, 128<<10)
	n, err := tn.WriteMIME(upn, id, io.MultiWriter(buf, h))
	if err == nil {
		err = buf.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	_ = h.Sum(nil)
	return n, err
}

// BenchmarkApplyLatency collects 20 mailboxes of 500 messages through 50 ms
// of latency per request and Graph's 4 requests in flight per mailbox, and
// compares the wall time with the ideal: requests / (4 × 20) × 50 ms.
func BenchmarkApplyLatency(b *testing.B) {
	// "graph" is the goal's setting; "unenforced" lets the simulator
	// accept any number in flight (collect still sends at most 4 per
	// mailbox), which tells the cost of 429s apart from the rest.
	b.Run("graph", func(b *testing.B) { benchApplyLatency(b, 4) })
	b.Run("unenforced", func(b *testing.B) { benchApplyLatency(b, -1) })
}

func benchApplyLatency(b *testing.B, maxConcurrent int) {
	const mailboxes, perMailbox, latency = 20, 500, 50 * time.Millisecond
	w := newBenchWorld(b, graphsim.Config{Latency: latency, Limits: graphsim.Limits{MaxConcurrent: maxConcurrent}},
		mailboxes, populated(perMailbox, 0, 0))
	for range b.N {
		dir, env := w.matter(b)
		w.run(b, dir, env, []int{exitChanges}, "plan", "-detailed-exitcode", "-input=false", "-parallelism=20", "-out=bench.plan")
		b.Logf("load average before: %s", loadAverage())
		w.tn.ResetCounters()
		ap := w.run(b, dir, env, nil, "apply", "-json", "-parallelism=20", "bench.plan")
		c := w.tn.Counters()
		rep := benchApplyResult(b, ap)
		if !rep.Complete || rep.Collected != mailboxes*perMailbox {
			b.Fatalf("apply collected %d of %d (complete %v)", rep.Collected, mailboxes*perMailbox, rep.Complete)
		}
		reqs := graphRequests(c)
		ideal := time.Duration(float64(reqs) / (4 * mailboxes) * float64(latency))
		ratio := ap.wall.Seconds() / ideal.Seconds()
		maxInFlight := 0
		for _, mc := range c.Mailboxes {
			maxInFlight = max(maxInFlight, mc.MaxInFlight)
		}
		b.ReportMetric(ap.wall.Seconds(), "apply-s")
		b.ReportMetric(ideal.Seconds(), "ideal-s")
		b.ReportMetric(ratio, "ratio")
		b.ReportMetric(float64(reqs), "reqs")
		b.ReportMetric(float64(c.Throttled), "throttled")
		reportCPU(b, ap, rep.Collected)
		b.Logf("apply: %.2f s (child CPU %.2f s) for %d Graph requests (%s); ideal %.2f s; ratio %.3f (goal <= 1.15); %d throttled, max in flight per mailbox %d",
			ap.wall.Seconds(), ap.cpu.Seconds(), reqs, routeSummary(c), ideal.Seconds(), ratio, c.Throttled, maxInFlight)
		b.Logf("load average after: %s", loadAverage())
		// The server counts a request in flight until its handler returns,
		// collect until it has read the whole body: the server may see a
		// few more than collect's 4 (and answer 429 when it enforces 4).
		b.ReportMetric(float64(maxInFlight), "server-max-in-flight")
	}
}

// BenchmarkApplyPeakRSS measures apply -auto-approve's peak RSS while it
// collects one 100 MB message, and while it collects many small ones (20
// mailboxes, about 2 KB each, verbatim MIME; at most 5,000 per mailbox, so
// that Graph's 10,000 requests per 10 minutes are not reached). Goal:
// under 150 MB.
func BenchmarkApplyPeakRSS(b *testing.B) {
	cases := []struct {
		name      string
		mailboxes int
		fill      func(*graphsim.Tenant, string, string) error
		want      int64
	}{
		{"1x100MB", 1, populated(1, 1, 100<<20), 1},
	}
	for _, n := range []int{20000, 50000, 100000} {
		cases = append(cases, struct {
			name      string
			mailboxes int
			fill      func(*graphsim.Tenant, string, string) error
			want      int64
		}{fmt.Sprintf("small-%d", n), 20, verbatim(n / 20), int64(n)})
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			w := newBenchWorld(b, graphsim.Config{}, tc.mailboxes, tc.fill)
			for range b.N {
				dir, env := w.matter(b)
				b.Logf("load average before: %s", loadAverage())
				ap := w.run(b, dir, env, nil, "apply", "-auto-approve", "-input=false", "-json", "-parallelism=20")
				rep := benchApplyResult(b, ap)
				if !rep.Complete || rep.Collected != tc.want {
					b.Fatalf("apply collected %d of %d (complete %v)", rep.Collected, tc.want, rep.Complete)
				}
				b.ReportMetric(ap.mb(), "peak-MB")
				b.ReportMetric(float64(ap.peak.anon)/1024, "peak-anon-MB")
				b.ReportMetric(float64(ap.peak.file)/1024, "peak-file-MB")
				b.ReportMetric(ap.wall.Seconds(), "apply-s")
				b.ReportMetric(float64(rep.Bytes)/(1<<20), "collected-MB")
				reportCPU(b, ap, rep.Collected)
				b.Logf("apply -auto-approve: %d messages, %.1f MB in %.1f s; %s (goal < 150 MB; ru_maxrss said %.1f MB)",
					rep.Collected, float64(rep.Bytes)/(1<<20), ap.wall.Seconds(), ap.memString(), float64(ap.rusage)/1024)
				b.Logf("load average after: %s", loadAverage())
			}
		})
	}
}

// BenchmarkApplyInProcess is BenchmarkApplyThroughput/natural with collect
// run inside the test process, for profiling what the child does:
//
//	go test ./cmd/collect -run '^$' -bench ApplyInProcess -benchtime 1x -cpuprofile cpu.out
//
// The profile holds the simulator's work too (graphsim frames).
func BenchmarkApplyInProcess(b *testing.B) {
	const mailboxes, perMailbox = 10, 500
	w := newBenchWorld(b, graphsim.Config{}, mailboxes, populated(perMailbox, 0, 0))
	for range b.N {
		b.StopTimer()
		dir, env := w.matter(b)
		b.Chdir(dir)
		var out bytes.Buffer
		if code := run([]string{"plan", "-input=false", "-out=bench.plan"}, strings.NewReader(""), &out, &out, env); code != exitOK {
			b.Fatalf("plan exited %d:\n%s", code, tail(out.String()))
		}
		out.Reset()
		b.StartTimer()
		start := time.Now()
		code := run([]string{"apply", "-json", "-parallelism=10", "bench.plan"}, strings.NewReader(""), &out, &out, env)
		el := time.Since(start)
		b.StopTimer()
		if code != exitOK {
			b.Fatalf("apply exited %d:\n%s", code, tail(out.String()))
		}
		rep := benchApplyResult(b, childRun{stdout: out.String()})
		if rep.Collected != mailboxes*perMailbox {
			b.Fatalf("apply collected %d of %d", rep.Collected, mailboxes*perMailbox)
		}
		b.ReportMetric(float64(rep.Collected)/el.Seconds(), "msgs/s")
		b.ReportMetric(float64(rep.Bytes)/(1<<20)/el.Seconds(), "MB/s")
		b.StartTimer()
	}
}

// BenchmarkFirstApply runs apply -auto-approve, plan included, on a fresh
// matter of 8 mailboxes of 100 messages through 100 ms of latency per
// request, and compares the wall time with the ideal time of its $value
// requests alone: values / (4 × 8) × 100 ms. Goal: within 1.3 × that.
// "plan-s" is the time of a plan on its own against the same tenant.
func BenchmarkFirstApply(b *testing.B) {
	const mailboxes, perMailbox, latency = 8, 100, 100 * time.Millisecond
	w := newBenchWorld(b, graphsim.Config{Latency: latency, Limits: graphsim.Limits{MaxConcurrent: 4}},
		mailboxes, populated(perMailbox, 0, 0))
	for range b.N {
		dir, env := w.matter(b)
		b.Logf("load average before: %s", loadAverage())
		w.tn.ResetCounters()
		pl := w.run(b, dir, env, []int{exitChanges}, "plan", "-detailed-exitcode", "-input=false", "-parallelism=20")
		pc := w.tn.Counters()
		w.tn.ResetCounters()
		ap := w.run(b, dir, env, nil, "apply", "-auto-approve", "-input=false", "-json", "-parallelism=20")
		c := w.tn.Counters()
		rep := benchApplyResult(b, ap)
		if !rep.Complete || rep.Collected != mailboxes*perMailbox {
			b.Fatalf("apply collected %d of %d (complete %v)", rep.Collected, mailboxes*perMailbox, rep.Complete)
		}
		values := c.ByRoute[graphsim.RouteValue]
		ideal := time.Duration(float64(values) / (4 * mailboxes) * float64(latency))
		ratio := ap.wall.Seconds() / ideal.Seconds()
		b.ReportMetric(pl.wall.Seconds(), "plan-s")
		b.ReportMetric(float64(graphRequests(pc)), "plan-reqs")
		b.ReportMetric(ap.wall.Seconds(), "apply-s")
		b.ReportMetric(ideal.Seconds(), "ideal-s")
		b.ReportMetric(ratio, "ratio")
		reportCPU(b, ap, rep.Collected)
		b.Logf("plan alone: %.2f s, %d requests (%s)", pl.wall.Seconds(), graphRequests(pc), routeSummary(pc))
		b.Logf("apply -auto-approve: %.2f s (child CPU %.2f s), %d requests (%s); ideal of its %d $value requests %.2f s; ratio %.3f (goal <= 1.3); %d throttled",
			ap.wall.Seconds(), ap.cpu.Seconds(), graphRequests(c), routeSummary(c), values, ideal.Seconds(), ratio, c.Throttled)
		b.Logf("load average after: %s", loadAverage())
	}
}

// BenchmarkFirstPlan is the first plan of BenchmarkPlan/100x1000 alone:
// 100 mailboxes of 1,000 small messages against no state, at zero
// latency. ns/op is one run of the collect binary's plan (the simulator
// serves from this process); collect-cpu-s is collect's CPU time for it
// (the last run's, with -benchtime Nx), sim-cpu-s the simulator's. To
// see where collect spends it:
//
//	COLLECT_BENCH_CPUPROFILE=/tmp/cpu go test ./cmd/collect -run '^$' -bench FirstPlan -benchtime 1x
//	go tool pprof -top /tmp/cpu.plan.*
func BenchmarkFirstPlan(b *testing.B) {
	w := newBenchWorld(b, graphsim.Config{Limits: graphsim.Limits{WindowRequests: -1}}, 100, verbatim(1000))
	w.requestLimit = 1_000_000
	dir, env := w.matter(b)
	b.Logf("load average before: %s", loadAverage())
	b.ResetTimer()
	for range b.N {
		r := w.run(b, dir, env, []int{exitChanges}, "plan", "-detailed-exitcode", "-input=false")
		if !strings.Contains(r.stdout, "100,000 messages to collect") {
			b.Fatalf("plan does not say 100,000 messages to collect:\n%s", tail(r.stdout))
		}
		b.ReportMetric(r.mb(), "plan-MB")
		reportCPU(b, r, 100_000)
	}
	b.Logf("load average after: %s", loadAverage())
}

// runChild runs the collect command of the test binary. When the
// environment names COLLECT_BENCH_CPUPROFILE, it writes a CPU profile of
// that run of collect alone (no simulator in it) to the named path,
// suffixed with the subcommand and the process ID:
//
//	COLLECT_BENCH_CPUPROFILE=/tmp/cpu go test ./cmd/collect -run '^$' -bench FirstPlan -benchtime 1x
//	go tool pprof -top /tmp/cpu.plan.*
func runChild() int {
	if path := os.Getenv(benchRootsEnv); path != "" {
		pemBytes, err := os.ReadFile(path)
		roots := x509.NewCertPool()
		if err != nil || !roots.AppendCertsFromPEM(pemBytes) {
			fmt.Fprintf(os.Stderr, "%s=%s: no certificate: %v\n", benchRootsEnv, path, err)
			return exitError
		}
		trustedRoots = roots
	}
	if path := os.Getenv("COLLECT_BENCH_CPUPROFILE"); path != "" {
		sub := "none"
		if len(os.Args) > 1 {
			sub = os.Args[1]
		}
		f, err := os.Create(fmt.Sprintf("%s.%s.%d", path, sub, os.Getpid()))
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer f.Close()
			defer pprof.StopCPUProfile()
		}
	}
	return run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Environ())
}
