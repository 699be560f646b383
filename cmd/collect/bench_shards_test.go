package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/graph/graphsim"
	"github.com/collect-ediscovery/collect/internal/azurite"
)

// BenchmarkShards collects one matter of 16 mailboxes, kept in Azure Blob
// Storage (the Azurite emulator), with 1, 2 and 4 shard processes running
// at once against one simulated tenant with latency. Each process
// collects 4 mailboxes at a time (-parallelism=4), standing for what one
// machine can carry; shards add machines. It reports the wall time from
// the start of the first shard to the end of the last, the speed-up over
// one shard, collect's CPU per message, and Graph requests per collected
// message, which must not grow with the shard count.
//
// Two tenants: "wait" is bound by Graph's latency (100 ms a request, 50
// messages a mailbox), where more shards mean more mailboxes in flight;
// "cpu" (20 ms, 150 a mailbox) is bound by this machine's two cores, which
// every process, the simulator and Azurite share, where shards on one
// machine cannot help.
//
//	go test ./cmd/collect -run '^$' -bench Shards -benchtime 1x
func BenchmarkShards(b *testing.B) {
	conn := azurite.Start(b)
	for _, tenant := range []struct {
		name       string
		perMailbox int
		latency    time.Duration
	}{{"wait", 50, 100 * time.Millisecond}, {"cpu", 150, 20 * time.Millisecond}} {
		b.Run(tenant.name, func(b *testing.B) { benchShards(b, conn, tenant.perMailbox, tenant.latency) })
	}
}

func benchShards(b *testing.B, conn string, perMailbox int, latency time.Duration) {
	const mailboxes = 16
	var one time.Duration
	for _, shards := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("shards=%d", shards), func(b *testing.B) {
			for range b.N {
				w := newBenchWorld(b, graphsim.Config{Latency: latency}, mailboxes, populated(perMailbox, 0, 0))
				dir, env := w.matter(b)
				container := fmt.Sprintf("bench-%d-%d", shards, time.Now().UnixNano())
				if err := createContainer(conn, container); err != nil {
					b.Fatal(err)
				}
				env = append(env, "AZURE_STORAGE_CONNECTION_STRING="+conn, "COLLECT_BACKEND=azurerm",
					"COLLECT_BACKEND_STORAGE_ACCOUNT=devstoreaccount1", "COLLECT_BACKEND_CONTAINER="+container,
					"XDG_CACHE_HOME="+filepath.Join(dir, ".cache"))
				if err := os.MkdirAll(filepath.Join(dir, ".cache"), 0o700); err != nil {
					b.Fatal(err)
				}
				b.Logf("load average before: %s", loadAverage())
				w.tn.ResetCounters()
				start := time.Now()
				runs := make([]childRun, shards)
				var wg sync.WaitGroup
				for i := range shards {
					wg.Add(1)
					go func() {
						defer wg.Done()
						runs[i] = runCollect(b, dir, env, nil, "apply", "-auto-approve", "-json", "-parallelism=4",
							fmt.Sprintf("-shard=%d/%d", i+1, shards))
					}()
				}
				wg.Wait()
				wall := time.Since(start)
				c := w.tn.Counters()
				collected, cpu := int64(0), time.Duration(0)
				for _, r := range runs {
					rep := benchApplyResult(b, r)
					if !rep.Complete {
						b.Fatalf("a shard's apply is incomplete: %+v", rep)
					}
					collected += rep.Collected
					cpu += r.cpu
				}
				if collected != int64(mailboxes*perMailbox) {
					b.Fatalf("the shards collected %d messages, want %d exactly once", collected, mailboxes*perMailbox)
				}
				reqs := graphRequests(c)
				perMsg := float64(reqs) / float64(collected)
				if shards == 1 {
					one = wall
				}
				b.ReportMetric(wall.Seconds(), "wall-s")
				b.ReportMetric(perMsg, "graph-reqs/msg")
				b.ReportMetric(cpu.Seconds()*1000/float64(collected), "cpu-ms/msg")
				if one > 0 {
					b.ReportMetric(one.Seconds()/wall.Seconds(), "speed-up")
				}
				b.Logf("%d shards: %.2f s wall, %d messages, %d Graph requests (%.3f per message; %s), collect CPU %.2f s; load average after: %s",
					shards, wall.Seconds(), collected, reqs, perMsg, routeSummary(c), cpu.Seconds(), loadAverage())
			}
		})
	}
}
