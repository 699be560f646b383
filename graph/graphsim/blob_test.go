package graphsim

import (
	"bytes"
	"io"
	"testing"
)

func BenchmarkWriteBlob(b *testing.B) {
	b.SetBytes(10 << 20)
	for i := 0; i < b.N; i++ {
		if _, err := writeBlob(io.Discard, 42, 10<<20); err != nil {
			b.Fatal(err)
		}
	}
}

// The announced length of a blob must be what is written, and the bytes
// must be valid base64 of the same raw stream whatever the length.
func TestBlobLengths(t *testing.T) {
	for _, n := range []int64{1, 2, 3, 56, 57, 58, 1000, 57*512 - 1, 57 * 512, 57*512 + 1, 3*57*512 + 5} {
		var b bytes.Buffer
		m, err := writeBlob(&b, 9, n)
		if err != nil || m != b64Len(n) || int64(b.Len()) != m {
			t.Fatalf("n=%d: wrote %d (%v), announced %d", n, m, err, b64Len(n))
		}
		raw, err := io.ReadAll(newB64(b.Bytes()))
		if err != nil || int64(len(raw)) != n {
			t.Fatalf("n=%d: decoded %d bytes: %v", n, len(raw), err)
		}
		var c bytes.Buffer
		_, _ = writeBlob(&c, 9, n)
		if !bytes.Equal(b.Bytes(), c.Bytes()) {
			t.Fatalf("n=%d: not deterministic", n)
		}
		for _, line := range bytes.Split(bytes.TrimSuffix(b.Bytes(), []byte("\r\n")), []byte("\r\n")) {
			if len(line) > 76 {
				t.Fatalf("n=%d: line of %d characters", n, len(line))
			}
		}
	}
	var a, b bytes.Buffer
	_, _ = writeBlob(&a, 9, 3*57*512)
	raw, _ := io.ReadAll(newB64(a.Bytes()))
	_, _ = writeBlob(&b, 10, 3*57*512)
	other, _ := io.ReadAll(newB64(b.Bytes()))
	if bytes.Equal(raw[:57*512], raw[57*512:2*57*512]) || bytes.Equal(raw, other) {
		t.Fatal("chunks or seeds give the same bytes")
	}
}

func BenchmarkMessageMIME(b *testing.B) {
	tn := New(Config{Seed: 1})
	_, _ = tn.AddUser(UserSpec{UPN: "a@b.invalid"})
	_ = tn.Populate("a@b.invalid", "inbox", Populate{Count: 100})
	refs, _ := tn.Messages("a@b.invalid", "inbox")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := tn.WriteMIME("a@b.invalid", refs[i%100].ID, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

func TestBodyFieldBits(t *testing.T) {
	if messageFields[bodyPreviewField] != "bodyPreview" || messageFields[bodyField] != "body" {
		t.Fatal("bodyPreviewField or bodyField do not name their fields")
	}
}
