//go:build unix

package export

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/config"
	"github.com/collect-ediscovery/collect/state"
	"github.com/collect-ediscovery/collect/store"
)

// The benchmarks export a synthetic collection in a child process (this
// test binary, run again as TestExportChild) and report messages per
// second and the child's peak RSS, getrusage's ru_maxrss: what the export
// itself took, not the setup.
//
//	go test ./export -run '^$' -bench Export -benchtime 1x

const benchMatter = `matter "bench" {
  time_zone = "UTC"
}

tenant {
  cloud = "demo"
}

custodian "c" {
  email = "c@demo.collect.invalid"
}

export {
  prefix = "BENCH"
}
`

const childEnv = "COLLECT_EXPORT_BENCH_MATTER"

// benchMessage writes message i to w: about size bytes, with one
// attachment taking most of them when attach is set. The attachment is
// written a line at a time, so that a 100 MB message is never whole in
// the benchmark's memory (the child's peak would start from it).
func benchMessage(w io.Writer, r *rand.Rand, i int, size int, attach bool) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: Sender %d <s%d@bench.invalid>\r\nTo: c@demo.collect.invalid\r\nSubject: bench message %d\r\n", i%97, i%97, i)
	fmt.Fprintf(&b, "Date: Mon, 05 Feb 2024 09:%02d:%02d +0000\r\nMessage-ID: <bench-%d@bench.invalid>\r\nMIME-Version: 1.0\r\n", i/60%60, i%60, i)
	text := func(n int) {
		const words = "the of and to in a is that for it as was with be by on not this are or from at which "
		for n > 0 {
			line := words[r.IntN(len(words)/2):]
			line = line[:min(len(line), n)]
			b.WriteString(line + "\r\n")
			n -= len(line) + 2
		}
	}
	if !attach {
		b.WriteString("Content-Type: text/plain; charset=utf-8\r\n\r\n")
		text(size - b.Len())
		_, err := w.Write(b.Bytes())
		return err
	}
	b.WriteString("Content-Type: multipart/mixed; boundary=\"bench\"\r\n\r\n--bench\r\nContent-Type: text/plain\r\n\r\n")
	text(2048)
	b.WriteString("--bench\r\nContent-Type: application/pdf; name=\"doc.pdf\"\r\nContent-Disposition: attachment; filename=\"doc.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	if _, err := w.Write(b.Bytes()); err != nil {
		return err
	}
	raw := make([]byte, 57)
	line := make([]byte, 0, 78)
	for left := max(1024, (size-b.Len())*3/4); left > 0; left -= len(raw) {
		raw = raw[:min(57, left)]
		for j := range raw {
			raw[j] = byte(r.Uint32())
		}
		line = append(base64.StdEncoding.AppendEncode(line[:0], raw), '\r', '\n')
		if _, err := w.Write(line); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, "--bench--\r\n")
	return err
}

// syntheticCollection writes n collected messages straight into a state
// and an output folder, as apply leaves them, and returns the matter
// folder. sizeOf gives each message's size and whether it has an attachment.
func syntheticCollection(b testing.TB, dir string, n int, sizeOf func(r *rand.Rand, i int) (int, bool)) string {
	if err := os.WriteFile(filepath.Join(dir, "matter.collect.hcl"), []byte(benchMatter), 0o600); err != nil {
		b.Fatal(err)
	}
	m, _, diags := config.Load(dir, config.LoadOptions{})
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	if _, err := store.Open(m.Output.Path, store.Options{}); err != nil {
		b.Fatal(err)
	}
	db, err := state.Open(m.State.Path, state.Options{Operation: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	r := rand.New(rand.NewPCG(1, 2))
	mb := state.Mailbox{ID: "mbx-1", Address: "c@demo.collect.invalid", Custodians: []string{"c"}}
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var items []state.Item
	flush := func() {
		err := db.Update(func(tx *state.Tx) error {
			if err := tx.PutMailbox(mb); err != nil {
				return err
			}
			for _, it := range items {
				if _, _, err := tx.PutItem(it); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		items = items[:0]
	}
	for i := range n {
		size, attach := sizeOf(r, i)
		tmp := filepath.Join(m.Output.Path, "bench.tmp")
		f, err := os.Create(tmp)
		if err != nil {
			b.Fatal(err)
		}
		h := sha256.New()
		cw := &countWriter{}
		err = benchMessage(io.MultiWriter(f, h, cw), r, i, size, attach)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			b.Fatal(err)
		}
		sha := hex.EncodeToString(h.Sum(nil))
		rel := store.NativePath(sha)
		p := filepath.Join(m.Output.Path, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(tmp, p); err != nil {
			b.Fatal(err)
		}
		items = append(items, state.Item{
			Mailbox: mb.ID, ID: fmt.Sprintf("item-%07d", i), InternetMessageID: fmt.Sprintf("<bench-%d@bench.invalid>", i),
			FolderID: "inbox", FolderPath: "Inbox", Received: now, Sent: now, Subject: "bench", From: "s@bench.invalid",
			Size: cw.n, SHA256: sha, Native: rel, RunID: "run-1", CollectedAt: now, Custodians: []string{"c"},
		})
		if len(items) == 500 {
			flush()
		}
	}
	flush()
	return dir
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// TestExportChild is the child of the benchmarks: it exports the matter
// named by the environment and prints what it did. It does nothing in a
// normal test run.
func TestExportChild(t *testing.T) {
	dir := os.Getenv(childEnv)
	if dir == "" {
		t.Skip("run by the export benchmarks only")
	}
	m, _, diags := config.Load(dir, config.LoadOptions{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	db, err := state.Open(m.State.Path, state.Options{Operation: "export"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	start := time.Now()
	res, err := Export(context.Background(), m, db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	out, _ := json.Marshal(map[string]any{"messages": res.Volume.Messages, "records": res.Volume.Records,
		"seconds": time.Since(start).Seconds(), "cpu_seconds": cpu.Seconds(), "errors": res.WithErrors, "hwm_kb": vmHWM()})
	fmt.Println("RESULT " + string(out))
}

// vmHWM is this process's peak RSS in KiB as Linux counts it for its
// memory since exec; 0 where /proc does not say. getrusage's ru_maxrss
// is not used: a child's starts from its parent's RSS at fork.
func vmHWM() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), &kb)
			return kb
		}
	}
	return 0
}

type childResult struct {
	Messages, Records, Errors int
	Seconds                   float64
	CPUSeconds                float64 `json:"cpu_seconds"`
	HWMKB                     int64   `json:"hwm_kb"`
	PeakMB                    float64
}

func runChild(b *testing.B, dir string) childResult {
	cmd := exec.Command(os.Args[0], "-test.run=^TestExportChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("child: %v\n%s", err, out)
	}
	var res childResult
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "RESULT "); ok {
			if err := json.Unmarshal([]byte(rest), &res); err != nil {
				b.Fatal(err)
			}
		}
	}
	if res.Messages == 0 {
		b.Fatalf("child exported nothing:\n%s", out)
	}
	res.PeakMB = float64(res.HWMKB) / 1024
	if res.HWMKB == 0 {
		res.PeakMB = float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) / 1024
	}
	return res
}

// BenchmarkExport: 10,000 messages of 8 to 72 KB (mean about 40 KB), one
// in five with an attachment. Goals: at least 1,000 messages/s, under 150 MB.
func BenchmarkExport(b *testing.B) {
	dir := syntheticCollection(b, b.TempDir(), 10_000, func(r *rand.Rand, i int) (int, bool) {
		return 8<<10 + r.IntN(64<<10), i%5 == 0
	})
	b.ResetTimer()
	for range b.N {
		res := runChild(b, dir)
		b.ReportMetric(float64(res.Messages)/res.Seconds, "msgs/s")
		b.ReportMetric(float64(res.Messages)/res.CPUSeconds, "msgs/cpu-s")
		b.ReportMetric(res.PeakMB, "peak-MB")
		b.ReportMetric(float64(res.Records), "records")
		if res.Errors > 0 {
			b.Errorf("%d records with parse errors", res.Errors)
		}
	}
}

// BenchmarkExportLarge: one message of 100 MB, nearly all of it one
// attachment, read as a stream. Goal: under 150 MB.
func BenchmarkExportLarge(b *testing.B) {
	dir := syntheticCollection(b, b.TempDir(), 1, func(*rand.Rand, int) (int, bool) { return 100 << 20, true })
	b.ResetTimer()
	for range b.N {
		res := runChild(b, dir)
		b.ReportMetric(res.Seconds, "s")
		b.ReportMetric(res.CPUSeconds, "cpu-s")
		b.ReportMetric(res.PeakMB, "peak-MB")
		if res.Records != 2 || res.Errors > 0 {
			b.Errorf("%d records, %d with parse errors; want the message and its attachment", res.Records, res.Errors)
		}
	}
}
