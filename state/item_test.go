package state

import (
	"reflect"
	"testing"
	"time"
)

// TestPutItemReturnsTheStoredRecord: what PutItem returns is exactly what
// Item reads back, so a caller needs no second read, and "new" is true
// only for the call that first records the item as collected.
func TestPutItemReturnsTheStoredRecord(t *testing.T) {
	c := newClock()
	db := mustOpen(t, statePath(t), testOptions(c))
	paris := time.FixedZone("CET", 3600)
	tomb := collectedItem(2, c)
	cases := []struct {
		name    string
		before  func(tx *Tx) error
		put     Item
		wantNew bool
	}{
		{"first collection, times in another zone", nil, func() Item {
			it := collectedItem(1, c)
			it.Received, it.CollectedAt = it.Received.In(paris), it.CollectedAt.In(paris)
			it.Custodians = []string{}
			return it
		}(), true},
		{"collected again with the same native", nil, collectedItem(1, c), false},
		{"known as a tombstone, then collected", func(tx *Tx) error {
			return tx.AddObservation(testMailbox, tomb.ID, Observation{Kind: DeletedBeforeCollection, RunID: "r0", Reason: "gone"})
		}, tomb, true},
		{"seen, not collected", nil, Item{Mailbox: testMailbox, ID: immutableID(3), FolderPath: "Inbox"}, false},
	}
	mustUpdate(t, db, func(tx *Tx) error { return tx.PutMailbox(testMailboxRecord()) })
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stored, read Item
			var isNew bool
			mustUpdate(t, db, func(tx *Tx) error {
				if tc.before != nil {
					if err := tc.before(tx); err != nil {
						return err
					}
				}
				var err error
				if stored, isNew, err = tx.PutItem(tc.put); err != nil {
					return err
				}
				read, _, err = tx.Item(tc.put.Mailbox, tc.put.ID)
				return err
			})
			if isNew != tc.wantNew {
				t.Errorf("new = %v, want %v", isNew, tc.wantNew)
			}
			if !reflect.DeepEqual(stored, read) {
				t.Errorf("PutItem returned\n %+v\nItem reads\n %+v", stored, read)
			}
			if stored.Collected() != (stored.Seq != 0) {
				t.Errorf("collected %v with seq %d", stored.Collected(), stored.Seq)
			}
		})
	}
}

func TestItemWhereabouts(t *testing.T) {
	moved := func(to string) Observation { return Observation{Kind: Moved, FromFolder: "x", ToFolder: to} }
	removed := Observation{Kind: RemovedOnServer}
	deleted := Observation{Kind: DeletedBeforeCollection}
	cases := []struct {
		name              string
		obs               []Observation
		lastSeen          string
		gone              bool
		tombstones, moves int
	}{
		{"never observed", nil, "Inbox", false, 0, 0},
		{"moved twice", []Observation{moved("Archive"), moved("Projects")}, "Projects", false, 0, 2},
		{"a move without a destination", []Observation{moved("Archive"), moved("")}, "Archive", false, 0, 2},
		{"removed", []Observation{removed}, "Inbox", true, 1, 0},
		{"moved after removal", []Observation{removed, moved("Archive")}, "Archive", false, 1, 1},
		{"removed after a move", []Observation{moved("Archive"), removed}, "Archive", true, 1, 1},
		{"deleted before collection is not a removal", []Observation{deleted}, "Inbox", false, 1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			it := Item{FolderPath: "Inbox", Observations: tc.obs}
			if got := it.LastSeenIn(); got != tc.lastSeen {
				t.Errorf("LastSeenIn = %q, want %q", got, tc.lastSeen)
			}
			if got := it.Gone(); got != tc.gone {
				t.Errorf("Gone = %v, want %v", got, tc.gone)
			}
			if got := it.Tombstones(); got != tc.tombstones {
				t.Errorf("Tombstones = %d, want %d", got, tc.tombstones)
			}
			if got := it.Moves(); got != tc.moves {
				t.Errorf("Moves = %d, want %d", got, tc.moves)
			}
		})
	}
}
