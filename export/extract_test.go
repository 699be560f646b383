package export

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// memorySink keeps what the extractor stores, by path.
type memorySink struct{ files map[string][]byte }

func (s *memorySink) Put(r io.Reader, ext string) (Stored, error) {
	data, err := io.ReadAll(r)
	h := newHashes()
	h.Write(data)
	st := h.stored()
	st.Path = contentPath(AttachmentsDir, st.SHA256, ext)
	if s.files == nil {
		s.files = map[string][]byte{}
	}
	s.files[st.Path] = data
	return st, err
}

func extract(t testing.TB, msg []byte) (*Doc, *memorySink) {
	t.Helper()
	sink := &memorySink{}
	d := &Doc{}
	newExtractor(sink).message(d, msg, 0)
	return d, sink
}

func walkDocs(d *Doc, depth int, fn func(*Doc, int)) {
	fn(d, depth)
	for _, c := range d.Children {
		walkDocs(c, depth+1, fn)
	}
}

// TestExtractFamily reads the family message: identity headers exactly as
// written, decoded names, and each child with the exact bytes it was sent
// with, the attached message and the winmail.dat opened.
func TestExtractFamily(t *testing.T) {
	d, sink := extract(t, familyMessage())
	if len(d.Errors) > 0 {
		t.Errorf("parse errors: %q", d.Errors)
	}
	checks := []struct{ name, got, want string }{
		{"subject", d.Subject, "Deal þing ¶ terms, \"final\"\r\nsecond line"},
		{"from", d.From, "Þóra þing <thora@globex.invalid>"},
		{"to", strings.Join(d.To, "|"), "Jane Doe <jane.doe@demo.collect.invalid>|Smith; John <john.smith@demo.collect.invalid>"},
		{"message-id", d.MessageID, "<family-1@globex.invalid>"},
		{"references", d.References, "<root@globex.invalid> <earlier@globex.invalid>"},
		{"thread-index", d.ThreadIndex, "AdpY0c6Qx1+3fJpPQ0mB4w=="},
		{"sent", d.Sent.UTC().Format("2006-01-02T15:04:05Z"), "2024-02-06T15:00:00Z"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	sum := md5Hex("<family-1@globex.invalid>")
	if d.MessageIDHash != sum {
		t.Errorf("message identification hash = %s, want MD5 of the Message-ID %s", d.MessageIDHash, sum)
	}
	var names []string
	walkDocs(d, 0, func(c *Doc, depth int) {
		if depth > 0 {
			names = append(names, strings.Repeat(">", depth)+c.FileName+"/"+c.Kind)
		}
	})
	want := ">terms.pdf/attachment >earlier.eml/email >>numbers.csv/attachment >winmail.dat/attachment >>notes.txt/attachment"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("children = %s\nwant       %s", got, want)
	}
	pdf := d.Children[0]
	if b := sink.files[pdf.File.Path]; !bytes.HasPrefix(b, []byte("%PDF-1.4\n")) || int64(len(b)) != pdf.File.Size {
		t.Errorf("terms.pdf stored as %q (%d bytes)", clip(string(b), 20), pdf.File.Size)
	}
	if got := sink.files[d.Children[1].Children[0].File.Path]; string(got) != "quarter,amount\r\nQ1,\"1,250\"" {
		t.Errorf("numbers.csv = %q", got)
	}
	if got := sink.files[d.Children[2].Children[0].File.Path]; string(got) != "Notes from the call.\r\n" {
		t.Errorf("notes.txt from winmail.dat = %q", got)
	}
	if d.Children[1].Subject != "Earlier numbers" || d.Children[1].MessageID != "<earlier@globex.invalid>" {
		t.Errorf("attached message read as %q %q", d.Children[1].Subject, d.Children[1].MessageID)
	}
}

// TestExtractDepthBound nests messages deeper than MaxDepth: the extractor
// stops opening them there and says so.
func TestExtractDepthBound(t *testing.T) {
	msg := []byte("Subject: bottom\r\n\r\nbody\r\n")
	for i := 0; i < MaxDepth+3; i++ {
		b := fmt.Sprintf("b%d", i)
		msg = []byte("Subject: level\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"" + b + "\"\r\n\r\n--" + b + "\r\n" +
			"Content-Type: message/rfc822\r\n\r\n" + string(msg) + "\r\n--" + b + "--\r\n")
	}
	d, _ := extract(t, msg)
	deepest, stopped := 0, false
	walkDocs(d, 0, func(c *Doc, depth int) {
		deepest = max(deepest, depth)
		for _, e := range c.Errors {
			stopped = stopped || strings.Contains(e, "nested more than")
		}
	})
	if deepest != MaxDepth || !stopped {
		t.Errorf("deepest child at %d (want %d), stop reported: %v", deepest, MaxDepth, stopped)
	}
}

// TestExtractTNEFNotATNEF: a winmail.dat that is not TNEF stays a child
// record, with PARSE_ERRORS saying it was not opened.
func TestExtractTNEFNotATNEF(t *testing.T) {
	msg := "Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n" +
		"Content-Type: application/ms-tnef; name=winmail.dat\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		"bm90IHRuZWY=\r\n--b--\r\n"
	d, _ := extract(t, []byte(msg))
	if len(d.Children) != 1 || d.Children[0].FileName != "winmail.dat" || len(d.Children[0].Children) != 0 {
		t.Fatalf("children: %+v", d.Children)
	}
	if errs := strings.Join(d.Children[0].Errors, ";"); !strings.Contains(errs, "not a TNEF stream") {
		t.Errorf("winmail.dat errors = %q", errs)
	}
}

func md5Hex(s string) string {
	d := &Doc{MessageID: s}
	(&extractor{}).fields(d, rawHeader{"message-id": s})
	return d.MessageIDHash
}

// TestCorpus reads every message of the shared corpus of real mail:
// broken headers, 8-bit, ISO-2022-JP, uuencode, attached messages,
// bounces, TNEF. None stops the extractor; each gives a record whose text
// is valid UTF-8, and the parts it names hold bytes.
func TestCorpus(t *testing.T) {
	dir := findCorpus(t)
	files := corpusPaths(dir)
	if len(files) != 217 {
		t.Fatalf("the corpus holds %d messages, want 217", len(files))
	}
	withErrors, children, emails := 0, 0, 0
	seen := map[string]*Doc{}
	for _, p := range files {
		msg, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		d, sink := extract(t, msg)
		rel, _ := filepath.Rel(dir, p)
		// The streaming path of large natives reads it too, without failing.
		streamed := &Doc{}
		newExtractor(&memorySink{}).streamMessage(streamed, bytes.NewReader(msg), 0, LargeNative)
		if streamed.Kind != KindEmail {
			t.Errorf("%s: streamed as %q", rel, streamed.Kind)
		}
		seen[filepath.ToSlash(rel)] = d
		if len(d.Errors) > 0 {
			withErrors++
		}
		walkDocs(d, 0, func(c *Doc, depth int) {
			for _, s := range append([]string{c.Subject, c.From, c.FileName, c.MessageID}, c.Errors...) {
				if !utf8.ValidString(s) {
					t.Errorf("%s: %q is not valid UTF-8", rel, s)
				}
			}
			if depth == 0 {
				return
			}
			children++
			if c.Kind == KindEmail {
				emails++
			}
			data, ok := sink.files[c.File.Path]
			sum := sha256.Sum256(data)
			if !ok || hex.EncodeToString(sum[:]) != c.File.SHA256 || int64(len(data)) != c.File.Size {
				t.Errorf("%s: child %q was not stored as its digest says", rel, c.FileName)
			}
		})
	}
	t.Logf("%d messages, %d with parse errors, %d children (%d attached messages)", len(files), withErrors, children, emails)
	if children < 100 || emails < 5 {
		t.Errorf("only %d children and %d attached messages found in the corpus", children, emails)
	}
	expect := []struct {
		file  string
		check func(*Doc) bool
		what  string
	}{
		{"mikel-mail/attachment_emails/attachment_pdf.eml", func(d *Doc) bool {
			return len(d.Children) == 1 && strings.HasSuffix(d.Children[0].File.Path, ".pdf")
		}, "one PDF attachment"},
		{"mikel-mail/attachment_emails/attachment_message_rfc822.eml", func(d *Doc) bool {
			for _, c := range d.Children {
				if c.Kind == KindEmail && c.Subject != "" {
					return true
				}
			}
			return false
		}, "an attached message, read as an email"},
		{"php-mime-mail-parser/issue116.eml", func(d *Doc) bool {
			return !strings.Contains(d.Subject, "=?") && !isASCII(d.Subject)
		}, "an ISO-2022-JP subject decoded"},
		{"mail-mime-parser/m4006.eml", func(d *Doc) bool {
			return len(d.Children) == 1 && d.Children[0].FileName == "winmail.dat" &&
				strings.Contains(strings.Join(d.Children[0].Errors, ";"), "TNEF")
		}, "a winmail.dat that is not TNEF, kept with PARSE_ERRORS"},
	}
	for _, e := range expect {
		d, ok := seen[e.file]
		if !ok {
			t.Errorf("%s is not in the corpus", e.file)
			continue
		}
		if !e.check(d) {
			t.Errorf("%s: want %s; got subject %q, children %d, errors %q", e.file, e.what, d.Subject, len(d.Children), d.Errors)
		}
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// FuzzExtract feeds the extractor arbitrary bytes: it must not panic, must
// return a record, and must not store more than the input could hold
// (base64 only shrinks; every part is a piece of the input).
func FuzzExtract(f *testing.F) {
	f.Add(familyMessage())
	f.Add([]byte("Subject: plain\r\n\r\nbody"))
	f.Add([]byte("From: =?x?Q?broken\r\nContent-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n"))
	f.Add([]byte("Content-Type: message/rfc822\r\n\r\nContent-Type: message/rfc822\r\n\r\nSubject: deep\r\n\r\n"))
	f.Add(tnefFile(map[string][]byte{"a.txt": []byte("x")}, []string{"a.txt"}))
	f.Add([]byte("Content-Type: application/ms-tnef\r\nContent-Transfer-Encoding: base64\r\n\r\neJ8+IgEA"))
	if dir, err := corpusDir(); err == nil {
		for i, p := range corpusPaths(dir) {
			if i%10 == 0 {
				if b, err := os.ReadFile(p); err == nil {
					f.Add(b)
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		if len(msg) > 1<<20 {
			return
		}
		d, sink := extract(t, msg)
		if d.Kind != KindEmail {
			t.Fatalf("kind %q", d.Kind)
		}
		var stored int
		for _, b := range sink.files {
			stored += len(b)
		}
		// Each nesting level can store its part once more.
		if stored > (MaxDepth+1)*len(msg)+64 {
			t.Fatalf("stored %d bytes from a %d-byte message", stored, len(msg))
		}
		if len(d.Errors) > maxParseErrors {
			t.Fatalf("%d parse errors kept", len(d.Errors))
		}
		streamed := &Doc{}
		newExtractor(&memorySink{}).streamMessage(streamed, bytes.NewReader(msg), 0, LargeNative)
		if streamed.Kind != KindEmail || len(streamed.Errors) > maxParseErrors {
			t.Fatalf("streamed: kind %q, %d errors", streamed.Kind, len(streamed.Errors))
		}
	})
}

// corpusDir finds the corpus without a testing.TB, for fuzz seeds.
func corpusDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "shared", "corpus", "mail-fixtures")
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}

func corpusPaths(dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.EqualFold(filepath.Ext(p), ".eml") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func (s *memorySink) Open(path string) (io.ReadCloser, error) {
	data, ok := s.files[path]
	if !ok {
		return nil, os.ErrNotExist
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

// childList names every child of d, depth first, with its digest.
func childList(d *Doc) string {
	var out []string
	walkDocs(d, 0, func(c *Doc, depth int) {
		if depth > 0 {
			out = append(out, fmt.Sprintf("%d:%s:%s:%s:%d", depth, c.Kind, c.FileName, c.File.SHA256[:12], len(c.Children)))
		}
	})
	return strings.Join(out, "\n")
}

// TestStreamMatchesWhole reads messages both ways, whole (enmime) and as a
// stream (the path of natives too large to hold): the same fields and the
// same children with the same bytes.
func TestStreamMatchesWhole(t *testing.T) {
	msgs := map[string][]byte{"family": familyMessage()}
	if dir, err := corpusDir(); err == nil {
		for _, name := range []string{
			"mikel-mail/attachment_emails/attachment_pdf.eml",
			"mikel-mail/attachment_emails/attachment_message_rfc822.eml",
			"mikel-mail/attachment_emails/attachment_nonascii_filename.eml",
		} {
			if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
				msgs[name] = b
			}
		}
	}
	for name, msg := range msgs {
		t.Run(filepath.Base(name), func(t *testing.T) {
			whole, _ := extract(t, msg)
			sink := &memorySink{}
			streamed := &Doc{}
			newExtractor(sink).streamMessage(streamed, bytes.NewReader(msg), 0, LargeNative)
			if w, s := childList(whole), childList(streamed); w != s {
				t.Errorf("children differ:\nwhole:\n%s\nstreamed:\n%s", w, s)
			}
			if whole.Subject != streamed.Subject || whole.MessageID != streamed.MessageID || whole.From != streamed.From {
				t.Errorf("fields differ: %q %q %q / %q %q %q", whole.Subject, whole.MessageID, whole.From,
					streamed.Subject, streamed.MessageID, streamed.From)
			}
			if len(streamed.Errors) > 0 {
				t.Errorf("streamed errors: %q", streamed.Errors)
			}
		})
	}
}

// mapiProps builds a TNEF property list: a size, a named property, then
// PR_ATTACH_LONG_FILENAME in UTF-16.
func mapiProps(long string) []byte {
	var b bytes.Buffer
	le := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	le(uint32(3))
	le(uint32(0x0E200003)) // PR_ATTACH_SIZE, PT_LONG
	le(uint32(1234))
	le(uint32(0x80050003)) // a named PT_LONG: GUID, kind 0 (an ID), the ID, the value
	b.Write(make([]byte, 16))
	le(uint32(0))
	le(uint32(0x8233))
	le(uint32(1))
	le(uint32(0x3707001F)) // PR_ATTACH_LONG_FILENAME, PT_UNICODE
	le(uint32(1))
	u := utf16.Encode([]rune(long + "\x00"))
	le(uint32(2 * len(u)))
	for _, c := range u {
		le(c)
	}
	for b.Len()%4 != 0 {
		b.WriteByte(0)
	}
	return b.Bytes()
}

// TestTNEFLongFileName: the long file name among an attachment's MAPI
// properties wins over the 8.3 title; a property list that does not read
// leaves the title.
func TestTNEFLongFileName(t *testing.T) {
	const long = "Quarterly report – final version.docx"
	props := mapiProps(long)
	for _, c := range []struct {
		props []byte
		want  string
	}{{props, long}, {props[:len(props)-6], "QUARTE~1.DOC"}, {nil, "QUARTE~1.DOC"}} {
		data := tnefFile(map[string][]byte{"QUARTE~1.DOC": []byte("doc")}, []string{"QUARTE~1.DOC"})
		if c.props != nil {
			data = appendTNEFAttr(data, tnefLevelAttach, tnefAttachProps, c.props)
		}
		atts, err := parseTNEF(data)
		if err != nil || len(atts) != 1 || atts[0].title != c.want || string(atts[0].data) != "doc" {
			t.Errorf("parseTNEF = %+v, %v; want one attachment %q", atts, err, c.want)
		}
	}
}
