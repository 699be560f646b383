package state

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/internal/clock"
)

const benchBatch = 256

// fillState commits n realistic collected items in batches of benchBatch
// and returns the time it took. Items arrive in no particular order of ID,
// as they do from delta rounds over many folders.
func fillState(b *testing.B, db *DB, c *clock.Fake, from, n int) time.Duration {
	b.Helper()
	order := rand.New(rand.NewPCG(uint64(from), uint64(n))).Perm(n)
	start := time.Now()
	for i := 0; i < n; i += benchBatch {
		err := db.Update(func(tx *Tx) error {
			for _, k := range order[i:min(i+benchBatch, n)] {
				j := from + k
				it := collectedItem(j, c)
				it.FolderID = fmt.Sprintf("%s-%02d", inboxID, j%40) // mail spread over 40 folders
				if _, _, err := tx.PutItem(it); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start)
}

// BenchmarkCommitItems measures items committed per second, in
// transactions of benchBatch realistic collected items, each durable.
func BenchmarkCommitItems(b *testing.B) {
	c := newClock()
	db := mustOpen(b, statePath(b), testOptions(c))
	mustUpdate(b, db, func(tx *Tx) error { return tx.PutMailbox(testMailboxRecord()) })
	n := 0
	var total time.Duration
	for b.Loop() {
		total += fillState(b, db, c, n, benchBatch)
		n += benchBatch
	}
	b.ReportMetric(float64(n)/total.Seconds(), "items/s")
}

// BenchmarkState100k fills a state with 100,000 items, reports the commit
// rate and the file size per item, then measures opening the file (which
// checks every page) and HasItem lookups.
func BenchmarkState100k(b *testing.B) {
	const n = 100_000
	c := newClock()
	path := statePath(b)
	db, err := Open(path, testOptions(c))
	if err != nil {
		b.Fatal(err)
	}
	mustUpdate(b, db, func(tx *Tx) error { return tx.PutMailbox(testMailboxRecord()) })
	took := fillState(b, db, c, 0, n)
	db.Close()
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("100k items: %.0f items/s committed, file %.1f MB, %.0f bytes/item",
		n/took.Seconds(), float64(st.Size())/1e6, float64(st.Size())/n)

	b.Run("fill", func(b *testing.B) {
		for b.Loop() {
		}
		b.ReportMetric(n/took.Seconds(), "items/s")
		b.ReportMetric(float64(st.Size())/n, "filebytes/item")
	})
	b.Run("open-readonly-checked", func(b *testing.B) {
		for b.Loop() {
			db, err := Open(path, Options{ReadOnly: true})
			if err != nil {
				b.Fatal(err)
			}
			db.Close()
		}
	})
	b.Run("snapshot", func(b *testing.B) {
		w, err := Open(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer w.Close()
		for b.Loop() {
			if err := w.writeSnapshot(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("backup", func(b *testing.B) {
		w, err := Open(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer w.Close()
		for b.Loop() {
			bk, err := w.Backup()
			if err != nil {
				b.Fatal(err)
			}
			if err := bk.Keep(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("open-readwrite", func(b *testing.B) {
		for b.Loop() {
			db, err := Open(path, Options{})
			if err != nil {
				b.Fatal(err)
			}
			db.Close()
		}
	})
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer ro.Close()
	ids := make([]string, 4096)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range ids {
		ids[i] = immutableID(r.IntN(2 * n)) // half of them absent
	}
	b.Run("HasItem", func(b *testing.B) {
		ro.View(func(tx *ReadTx) error {
			i := 0
			for b.Loop() {
				tx.HasItem(testMailbox, ids[i%len(ids)])
				i++
			}
			return nil
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
	})
	b.Run("Item", func(b *testing.B) {
		ro.View(func(tx *ReadTx) error {
			i := 0
			for b.Loop() {
				tx.Item(testMailbox, ids[i%len(ids)])
				i++
			}
			return nil
		})
	})
	b.Run("ItemsOfMailbox", func(b *testing.B) {
		for b.Loop() {
			ro.View(func(tx *ReadTx) error {
				return tx.ItemsOfMailbox(testMailbox, func(Item) error { return nil })
			})
		}
		b.ReportMetric(float64(b.N)*n/b.Elapsed().Seconds(), "items/s")
	})
}
