package graphsim

import (
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"
)

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// 100 mailboxes of 10,000 messages each must fit in a small heap: the
// tenant keeps a few dozen bytes per message and generates the rest.
func TestMemoryForAMillionMessages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a million messages")
	}
	before := heapInUse()
	tn := New(Config{Seed: 51, Clock: NewFakeClock(t0)})
	for i := 0; i < 100; i++ {
		mb := fmt.Sprintf("custodian%03d@sim.collect.invalid", i)
		if _, err := tn.AddUser(UserSpec{UPN: mb}); err != nil {
			t.Fatal(err)
		}
		if err := tn.Populate(mb, "inbox", Populate{Count: 10000, From: t0.AddDate(-2, 0, 0), To: t0, Large: 3}); err != nil {
			t.Fatal(err)
		}
	}
	after := heapInUse()
	used := int64(after) - int64(before)
	t.Logf("heap in use for 100 x 10,000 messages: %.1f MB (%.0f bytes a message)", float64(used)/(1<<20), float64(used)/1e6)
	if used > 128<<20 {
		t.Fatalf("the tenant needs %d MB for a million messages", used>>20)
	}
	// Still served and exact at that size.
	fs, err := tn.Folders("custodian042@sim.collect.invalid")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.WellKnownName == "inbox" && f.TotalCount != 10000 {
			t.Fatalf("inbox: %+v", f)
		}
	}
	id := tn.messageID(immutableID, 42, 9999, 0)
	if _, err := tn.WriteMIME("custodian042@sim.collect.invalid", id, io.Discard); err != nil {
		t.Fatal(err)
	}
	runtime.KeepAlive(tn)
}

func BenchmarkPopulate(b *testing.B) {
	for i := 0; i < b.N; i++ {
		tn := New(Config{Seed: 52, Clock: NewFakeClock(t0)})
		_, _ = tn.AddUser(UserSpec{UPN: "a@sim.collect.invalid"})
		if err := tn.Populate("a@sim.collect.invalid", "inbox", Populate{Count: 100000, From: t0.Add(-time.Hour * 24 * 365), To: t0}); err != nil {
			b.Fatal(err)
		}
	}
}
