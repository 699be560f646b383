package state

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func TestItemCodecRoundTrip(t *testing.T) {
	c := newClock()
	full := collectedItem(42, c)
	full.Seq = 1 << 40
	full.Custodians = []string{"jdoe", "asmith"}
	full.Sent = time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC) // Exchange's "no date"
	full.Observations = []Observation{
		{Kind: Moved, At: c.Now(), RunID: "r1", FromFolder: "Inbox", ToFolder: "Archive"},
		{Kind: RemovedOnServer, At: c.Now().Add(time.Hour), RunID: "r2", Reason: "deleted"},
	}
	tombstone := Item{Mailbox: testMailbox, ID: "t", Observations: []Observation{{Kind: DeletedBeforeCollection, At: c.Now()}}}
	for _, it := range []Item{full, tombstone, {Mailbox: testMailbox, ID: "bare"}} {
		v, err := encodeItem(&it)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeItem(it.Mailbox, it.ID, v)
		if err != nil {
			t.Fatal(err)
		}
		if !itemsEqual(got, it) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, it)
		}
		if itemCollected(v) != it.Collected() {
			t.Errorf("flags byte says collected=%v for %s", itemCollected(v), it.ID)
		}
	}
}

func TestItemCodecSkipsUnknownFields(t *testing.T) {
	c := newClock()
	it := collectedItem(1, c)
	v, _ := encodeItem(&it)
	// A later version's fields, of both wire types.
	v = binary.AppendUvarint(v, 99<<1|wireVarint)
	v = binary.AppendUvarint(v, 12345)
	v = binary.AppendUvarint(v, 100<<1|wireBytes)
	v = binary.AppendUvarint(v, 3)
	v = append(v, "abc"...)
	got, err := decodeItem(it.Mailbox, it.ID, v)
	if err != nil || !itemsEqual(got, it) {
		t.Fatalf("with unknown fields: %v\n%+v", err, got)
	}
}

func TestItemCodecRejectsDamage(t *testing.T) {
	c := newClock()
	it := collectedItem(1, c)
	v, _ := encodeItem(&it)
	for _, bad := range [][]byte{nil, {itemFormat}, v[:len(v)-3], append([]byte{9}, v[1:]...)} {
		if _, err := decodeItem(it.Mailbox, it.ID, bad); err == nil {
			t.Errorf("decoded a damaged record %x", bad)
		}
	}
	if _, err := decodeItem(it.Mailbox, it.ID, v[:len(v)-3]); !errors.Is(err, errTruncatedRecord) {
		t.Errorf("truncated record: %v", err)
	}
}

// BenchmarkItemEncoding compares the binary item encoding with JSON, in
// speed and in bytes per record.
func BenchmarkItemEncoding(b *testing.B) {
	c := newClock()
	it := collectedItem(1, c)
	it.Seq = 123456
	b.Run("binary/encode", func(b *testing.B) {
		var n int
		for b.Loop() {
			v, _ := encodeItem(&it)
			n = len(v)
		}
		b.ReportMetric(float64(n), "bytes/record")
	})
	b.Run("json/encode", func(b *testing.B) {
		var n int
		for b.Loop() {
			v, _ := json.Marshal(&it)
			n = len(v)
		}
		b.ReportMetric(float64(n), "bytes/record")
	})
	bin, _ := encodeItem(&it)
	js, _ := json.Marshal(&it)
	b.Run("binary/decode", func(b *testing.B) {
		for b.Loop() {
			decodeItem(it.Mailbox, it.ID, bin)
		}
	})
	b.Run("json/decode", func(b *testing.B) {
		for b.Loop() {
			var out Item
			json.Unmarshal(js, &out)
		}
	})
}
