package state

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// populated writes a state file with enough items to span many pages.
func populated(t *testing.T) string {
	t.Helper()
	c := newClock()
	path := statePath(t)
	db := mustOpen(t, path, testOptions(c))
	mustUpdate(t, db, func(tx *Tx) error {
		if err := tx.PutMailbox(testMailboxRecord()); err != nil {
			return err
		}
		for i := range 300 {
			if _, _, err := tx.PutItem(collectedItem(i, c)); err != nil {
				return err
			}
		}
		return nil
	})
	db.Close()
	return path
}

func pageSizeOf(t *testing.T, b []byte) int {
	m, ok := readBoltMeta(bytesReaderAt(b), 0)
	if !ok {
		t.Fatal("test file has no valid meta page")
	}
	return int(m.pageSize)
}

type bytesReaderAt []byte

func (b bytesReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(b)) {
		return 0, os.ErrNotExist
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, os.ErrNotExist
	}
	return n, nil
}

// rootPage is the page of the root bucket in the newest meta page.
func rootPage(t *testing.T, b []byte) int {
	ps := pageSizeOf(t, b)
	le := binary.NativeEndian
	best, bestTx := 0, uint64(0)
	for i := range 2 {
		m := b[i*ps+pageHeaderSize:]
		if tx := le.Uint64(m[48:]); tx >= bestTx {
			best, bestTx = int(le.Uint64(m[16:])), tx
		}
	}
	return best
}

func setSchemaVersion(t *testing.T, path string, v int) {
	t.Helper()
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	err = b.Update(func(tx *bolt.Tx) error { return tx.Bucket(bMeta).Put(kSchema, u64(uint64(v))) })
	if err != nil {
		t.Fatal(err)
	}
}

func TestDamagedFilesRefused(t *testing.T) {
	noise := func(n int) []byte {
		r := rand.New(rand.NewPCG(1, 2))
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	cases := []struct {
		name   string
		make   func(t *testing.T) string // returns the path
		reason string                    // what the error must say
		kind   any                       // **CorruptError or **SchemaError
	}{
		{"zero length", func(t *testing.T) string {
			p := statePath(t)
			os.WriteFile(p, nil, 0o600)
			return p
		}, "empty", new(*CorruptError)},
		{"garbage", func(t *testing.T) string {
			p := statePath(t)
			os.WriteFile(p, noise(64<<10), 0o600)
			return p
		}, "not a collect state file", new(*CorruptError)},
		{"text file", func(t *testing.T) string {
			p := statePath(t)
			os.WriteFile(p, []byte("custodian \"jdoe\" {\n}\n"), 0o600)
			return p
		}, "not a collect state file", new(*CorruptError)},
		{"truncated to one page", func(t *testing.T) string {
			p := populated(t)
			os.Truncate(p, 4096)
			return p
		}, "truncated", new(*CorruptError)},
		{"truncated by half", func(t *testing.T) string {
			p := populated(t)
			st, _ := os.Stat(p)
			os.Truncate(p, st.Size()/2)
			return p
		}, "truncated", new(*CorruptError)},
		{"both meta pages damaged", func(t *testing.T) string {
			p := populated(t)
			b, _ := os.ReadFile(p)
			ps := pageSizeOf(t, b)
			b[pageHeaderSize+20] ^= 0xff
			b[ps+pageHeaderSize+20] ^= 0xff
			os.WriteFile(p, b, 0o600)
			return p
		}, "not a collect state file", new(*CorruptError)},
		{"root page scribbled", func(t *testing.T) string {
			p := populated(t)
			b, _ := os.ReadFile(p)
			ps := pageSizeOf(t, b)
			root := rootPage(t, b)
			copy(b[root*ps:(root+1)*ps], noise(ps))
			os.WriteFile(p, b, 0o600)
			return p
		}, "damaged", new(*CorruptError)},
		{"data pages zeroed", func(t *testing.T) string {
			p := populated(t)
			b, _ := os.ReadFile(p)
			ps := pageSizeOf(t, b)
			clear(b[2*ps:])
			os.WriteFile(p, b, 0o600)
			return p
		}, "damaged", new(*CorruptError)},
		{"data pages noise", func(t *testing.T) string {
			p := populated(t)
			b, _ := os.ReadFile(p)
			ps := pageSizeOf(t, b)
			copy(b[2*ps:], noise(len(b)-2*ps))
			os.WriteFile(p, b, 0o600)
			return p
		}, "damaged", new(*CorruptError)},
		{"bbolt file of another program", func(t *testing.T) string {
			p := statePath(t)
			b, err := bolt.Open(p, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			b.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("widgets")); return err })
			b.Close()
			return p
		}, "not a collect state file", new(*CorruptError)},
		{"newer schema", func(t *testing.T) string {
			p := populated(t)
			setSchemaVersion(t, p, SchemaVersion+1)
			return p
		}, "newer", new(*SchemaError)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.make(t)
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			entries := dirNames(t, filepath.Dir(path))
			for _, readOnly := range []bool{true, false} {
				opts := testOptions(newClock())
				opts.ReadOnly = readOnly
				db, err := Open(path, opts)
				if err == nil {
					db.Close()
					t.Fatalf("read-only %v: a damaged file was opened", readOnly)
				}
				if !errors.As(err, tc.kind) {
					t.Fatalf("read-only %v: error %T %v, want %T", readOnly, err, err, tc.kind)
				}
				msg := err.Error()
				for _, want := range []string{path, tc.reason, "not modified"} {
					if !strings.Contains(msg, want) {
						t.Errorf("read-only %v: message %q does not say %q", readOnly, msg, want)
					}
				}
			}
			after, _ := os.ReadFile(path)
			if !slices.Equal(before, after) {
				t.Error("the refused file was modified")
			}
			if got := dirNames(t, filepath.Dir(path)); !slices.Equal(got, entries) {
				t.Errorf("files next to the state changed: %v, was %v", got, entries)
			}
		})
	}
}

func TestNewerSchemaNamesTheWriter(t *testing.T) {
	p := populated(t)
	setSchemaVersion(t, p, SchemaVersion+3)
	_, err := Open(p, Options{ReadOnly: true})
	var se *SchemaError
	if !errors.As(err, &se) || se.Found != SchemaVersion+3 || se.WrittenBy != "v0.1.0-test" ||
		!strings.Contains(err.Error(), "collect v0.1.0-test") {
		t.Fatalf("newer schema: %v", err)
	}
}

func dirNames(t *testing.T, dir string) []string {
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}
