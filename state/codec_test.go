package state

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
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
	full.ConversationID = "AAQkAGI2TG93AAAQAK1fd0+qRUqXbl1Aoa2iE50="
	full.IsDraft = true
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

// An item record written before items had a conversation ID and a draft
// flag still reads, with both empty, and an item without them encodes to
// the very same bytes.
func TestItemCodecReadsRecordsWithoutConversationOrDraft(t *testing.T) {
	old, err := hex.DecodeString("010103153c6f6c6440636f6e746f736f2e6578616d706c653e0705496e626f780906b0808dde0c000d0b" +
		"513320666f72656361737410d20913209f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" +
		"19136e6174697665732f39662f38362f782e656d6c1b0272312007270b4351414141425941414141")
	if err != nil {
		t.Fatal(err)
	}
	want := Item{Mailbox: testMailbox, ID: "AAMkAGI2-old", InternetMessageID: "<old@contoso.example>", FolderPath: "Inbox",
		Received: time.Date(2024, 3, 1, 9, 30, 0, 0, time.UTC), Subject: "Q3 forecast", Size: 1234,
		SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Native: "natives/9f/86/x.eml",
		RunID: "r1", Seq: 7, ChangeKey: "CQAAABYAAAA"}
	got, err := decodeItem(want.Mailbox, want.ID, old)
	if err != nil {
		t.Fatal(err)
	}
	if !itemsEqual(got, want) || got.ConversationID != "" || got.IsDraft {
		t.Errorf("old record:\n got %+v\nwant %+v", got, want)
	}
	again, err := encodeItem(&got)
	if err != nil || !bytes.Equal(again, old) {
		t.Errorf("re-encoded old record (%v):\n got %x\nwant %x", err, again, old)
	}
	got.ConversationID, got.IsDraft = "AAQkAGI2TG93", true
	if v, err := encodeItem(&got); err != nil || bytes.Equal(v, old) {
		t.Errorf("an item with a conversation ID and the draft flag encodes as one without (%v)", err)
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
