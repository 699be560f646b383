package state

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/internal/clock"
)

// newClock is the tests' clock; it moves only when told.
func newClock() *clock.Fake {
	return clock.NewFake(time.Date(2026, 3, 1, 9, 30, 0, 123456789, time.UTC))
}

// seededRand is a deterministic source for lineage UUIDs.
type seededRand struct{ r *rand.ChaCha8 }

func (s seededRand) Read(p []byte) (int, error) { return s.r.Read(p) }

func testOptions(c *clock.Fake) Options {
	var seed [32]byte
	return Options{
		Operation:   "apply",
		ToolVersion: "v0.1.0-test",
		Clock:       c,
		Rand:        seededRand{rand.NewChaCha8(seed)},
	}
}

func statePath(t testing.TB) string {
	return filepath.Join(t.TempDir(), "collect.state")
}

func mustOpen(t testing.TB, path string, opts Options) *DB {
	t.Helper()
	db, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustUpdate(t testing.TB, db *DB, fn func(*Tx) error) {
	t.Helper()
	if err := db.Update(fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func mustView(t testing.TB, db *DB, fn func(*ReadTx) error) {
	t.Helper()
	if err := db.View(fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

const testMailbox = "5b7c7c4e-2f3a-4d0e-9d51-1c0e6a3f9b21"

func testMailboxRecord() Mailbox {
	return Mailbox{
		ID:                testMailbox,
		UserPrincipalName: "jdoe@contoso.example",
		Address:           "john.doe@contoso.example",
		DisplayName:       "John Doe",
		References:        []string{"custodian.jdoe.mailbox.primary"},
		Custodians:        []string{"jdoe"},
	}
}

// immutableID makes an ID shaped like a Graph immutable message ID, of
// the usual length (152 characters).
func immutableID(n int) string {
	return fmt.Sprintf("AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0AX6-2CWwTLUq4lVt3hmU2ewABFJDgAAA-%020d-Bv7nF3pZ0QqCnpmE8AAAABDQAAA%08dAAAAAAAAAAAAAAAAAAAA=", n, n)
}

const inboxID = "AAMkAGI2THVSAAA-Inbox-folder-immutable-id-0000000000000000000000000000000000000000000000AAAA="

// native returns deterministic message bytes and the collected item for them.
func collectedItem(n int, c *clock.Fake) Item {
	body := []byte(fmt.Sprintf("From: a@example.com\r\nSubject: message %d\r\n\r\nbody %d\r\n", n, n))
	s256 := sha256.Sum256(body)
	s1 := sha1.Sum(body)
	m5 := md5.Sum(body)
	h := hex.EncodeToString(s256[:])
	return Item{
		Mailbox:           testMailbox,
		ID:                immutableID(n),
		InternetMessageID: fmt.Sprintf("<CAF%x@mail.contoso.example>", s1[:12]),
		FolderID:          inboxID,
		FolderPath:        "Inbox",
		Received:          c.Now().Add(-time.Duration(n) * time.Minute),
		Sent:              c.Now().Add(-time.Duration(n)*time.Minute - 5*time.Second),
		Subject:           fmt.Sprintf("RE: Q3 forecast for the Globex account, item %d", n),
		From:              "Jane Roe <jane.roe@globex.example>",
		Size:              int64(len(body)) + 48_000,
		SHA256:            h,
		MD5:               hex.EncodeToString(m5[:]),
		SHA1:              hex.EncodeToString(s1[:]),
		Native:            "natives/" + h[:2] + "/" + h[2:4] + "/" + h + ".eml",
		RunID:             "0f8e4a3c-6a2d-4e51-b0c7-6c1d2b8e9f10",
		CollectedAt:       c.Now(),
		Custodians:        []string{"jdoe"},
	}
}
