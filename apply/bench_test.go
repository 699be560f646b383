package apply_test

import (
	"context"
	"io"
	"sync"
	"testing"

	"github.com/collect-ediscovery/collect/apply"
	"github.com/collect-ediscovery/collect/graph/graphsim"
	"github.com/collect-ediscovery/collect/internal/testworld"
	"github.com/collect-ediscovery/collect/store"
)

const benchMessages = 2000

// benchTenant is one mailbox with benchMessages generated messages of
// natural sizes (2 to 60 KB and some with attachments).
func benchTenant(b *testing.B) (*testworld.World, string, []graphsim.MessageRef, int64) {
	w := newWorld(b, graphsim.Config{DeltaPageSize: 500})
	ann := w.User("ann")
	w.Populate(ann, "inbox", benchMessages)
	refs, err := w.Tenant.Messages(ann, w.Folder(ann, "inbox"))
	if err != nil {
		b.Fatal(err)
	}
	var total int64
	for _, r := range refs {
		total += r.Size
	}
	return w, ann, refs, total
}

func report(b *testing.B, n int) {
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkApply is apply of a whole mailbox from the in-process source
// at zero latency: fetch, stage, seal, state commits and manifest.
func BenchmarkApply(b *testing.B) {
	w, ann, refs, total := benchTenant(b)
	b.Logf("%d messages, %.1f MB, %.1f KB on average", len(refs), float64(total)/1e6, float64(total)/float64(len(refs))/1e3)
	b.SetBytes(total)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		w.Dir = b.TempDir()
		w.LoadMatterOf(ann)
		p := w.ApplyablePlan()
		b.StartTimer()
		res, err := w.ApplyWith(context.Background(), p, apply.Options{})
		if err != nil || res.Collected != int64(len(refs)) {
			b.Fatalf("apply: %v, %+v", err, res)
		}
	}
	report(b, len(refs))
}

// BenchmarkStageSealOnly is the floor under BenchmarkApply: the same
// bytes from the same tenant staged by four writers and sealed in batches
// of 256, without a state or a manifest.
func BenchmarkStageSealOnly(b *testing.B) {
	w, ann, refs, total := benchTenant(b)
	w.LoadMatterOf(ann)
	b.SetBytes(total)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st, err := store.Open(b.TempDir(), store.Options{Hashes: w.Matter.Output.Hashes})
		if err != nil {
			b.Fatal(err)
		}
		work := make(chan string)
		staged := make(chan *store.Staged, 256)
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for id := range work {
					s, err := st.Stage(context.Background(), -1, func(out io.Writer) (int64, error) {
						return w.Tenant.WriteMIME(ann, id, out)
					})
					if err != nil {
						b.Error(err)
						continue
					}
					staged <- s
				}
			}()
		}
		go func() {
			for _, r := range refs {
				work <- r.ImmutableID
			}
			close(work)
			wg.Wait()
			close(staged)
		}()
		batch := make([]*store.Staged, 0, 256)
		sealed := 0
		seal := func() {
			_, errs := st.Seal(batch)
			for _, err := range errs {
				if err != nil {
					b.Fatal(err)
				}
			}
			sealed += len(batch)
			batch = batch[:0]
		}
		for s := range staged {
			if batch = append(batch, s); len(batch) == cap(batch) {
				seal()
			}
		}
		seal()
		if sealed != len(refs) {
			b.Fatalf("sealed %d of %d", sealed, len(refs))
		}
	}
	report(b, len(refs))
}
