package state

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
)

// mappedRSS is how many KB of path this process has resident through its
// memory maps.
func mappedRSS(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no smaps: %v", err)
	}
	defer f.Close()
	kb, in := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if f := strings.Fields(line); len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":") {
			in = len(f) >= 6 && f[5] == path
			continue
		}
		if v, ok := strings.CutPrefix(line, "Rss:"); ok && in {
			var n int
			fmt.Sscan(v, &n)
			kb += n
		}
	}
	return kb
}

// A writer's commits release the pages of the state file its reads
// mapped, and what it reads afterwards is still the file's.
func TestCommitsReleaseMappedPages(t *testing.T) {
	every, above := releaseEvery, releaseAbove
	releaseEvery, releaseAbove = 1, 0
	t.Cleanup(func() { releaseEvery, releaseAbove = every, above })

	c := newClock()
	path := statePath(t)
	db := mustOpen(t, path, testOptions(c))
	mustUpdate(t, db, func(tx *Tx) error { return tx.PutMailbox(testMailboxRecord()) })
	const n = 3000
	for lo := 0; lo < n; lo += 500 {
		mustUpdate(t, db, func(tx *Tx) error {
			for i := lo; i < lo+500; i++ {
				if _, _, err := tx.PutItem(collectedItem(i, c)); err != nil {
					return err
				}
			}
			return nil
		})
	}
	read := func() {
		mustView(t, db, func(r *ReadTx) error {
			for i := range n {
				if it := collectedItem(i, c); !r.HasItem(it.Mailbox, it.ID) {
					return fmt.Errorf("item %d is missing", i)
				}
			}
			return nil
		})
	}
	read()
	mapped := mappedRSS(t, path)
	mustUpdate(t, db, func(tx *Tx) error { return putOne(tx, collectedItem(n, c)) })
	released := mappedRSS(t, path)
	if mapped < 64 || released > mapped/4 {
		t.Errorf("%d KB of the state file resident after reading it, %d KB after the next commit; want most released", mapped, released)
	}
	read()
}

func putOne(tx *Tx, it Item) error {
	_, _, err := tx.PutItem(it)
	return err
}
