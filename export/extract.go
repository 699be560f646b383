package export

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"mime/quotedprintable"
	"path"
	"strings"
	"time"

	"github.com/jhillyerd/enmime/v2"
)

// Kinds of record.
const (
	KindEmail      = "email"
	KindAttachment = "attachment"
)

// MaxDepth bounds how deep attached messages and winmail.dat files are
// opened: a part nested deeper is kept as a file, not expanded.
const MaxDepth = 5

// maxParseErrors bounds the problems kept per record.
const maxParseErrors = 20

// Doc is what the extractor reads from a message or from one part of it.
type Doc struct {
	Kind string
	// Email fields, for the message and for attached messages.
	From                  string
	To, Cc, Bcc           []string
	Subject               string
	Sent                  time.Time // from the Date header; zero when missing or unreadable
	MessageID, InReplyTo  string
	References            string
	ThreadIndex           string
	MessageIDHash         string // MD5 of the Message-ID value (EDRM MIH)
	FieldHash             string // SHA-256 of From, To, Cc, Bcc, Subject and sent time
	FileName, ContentType string
	File                  Stored // where the bytes are; for the message, its native
	Errors                []string
	Children              []*Doc
}

// Stored is a file of a volume: its digests, size and path.
type Stored struct {
	SHA256, SHA1, MD5 string
	Size              int64
	Path              string // slash-separated, relative to the volume
}

// Sink stores an extracted part's bytes and says where they went.
type Sink interface {
	Put(r io.Reader, ext string) (Stored, error)
}

func (d *Doc) problem(format string, args ...any) {
	if len(d.Errors) >= maxParseErrors {
		return
	}
	msg := fmt.Sprintf(format, args...)
	for _, e := range d.Errors {
		if e == msg {
			return
		}
	}
	if len(d.Errors) == maxParseErrors-1 {
		msg = "further problems not listed"
	}
	d.Errors = append(d.Errors, msg)
}

// extractor reads messages into Docs, storing their parts in a sink.
type extractor struct {
	sink   Sink
	parser *enmime.Parser
}

func newExtractor(sink Sink) *extractor {
	return &extractor{sink: sink, parser: enmime.NewParser(
		// The parts' bytes are decoded here, exactly, with no charset
		// conversion: an attachment must keep the bytes it was sent with.
		enmime.RawContent(true),
		enmime.SkipMalformedParts(true),
		enmime.MaxStoredPartErrors(maxParseErrors),
	)}
}

// message reads the email fields of msg into d and its parts into
// d.Children. depth is how deep msg is nested (0 for a collected message).
// It never fails: what cannot be read is said in d.Errors.
func (x *extractor) message(d *Doc, msg []byte, depth int) {
	d.Kind = KindEmail
	if rest, ok := cutMboxLine(msg); ok {
		// An mbox separator ("From sender date") is not a header field.
		msg = rest
	}
	block, ended := headerBlock(msg)
	if !ended && len(msg) > maxHeaderBlock {
		d.problem("the header has no end within %d bytes", maxHeaderBlock)
	}
	h, bad := parseRawHeader(block)
	if bad > 0 {
		d.problem("%d header lines are not fields", bad)
	}
	x.fields(d, h)
	root, err := x.readParts(msg)
	if err != nil {
		d.problem("the MIME structure could not be read (%v); no attachments were extracted", err)
		return
	}
	x.walk(d, root, depth)
}

// cutMboxLine removes an mbox "From " separator line that starts msg.
func cutMboxLine(msg []byte) ([]byte, bool) {
	if !bytes.HasPrefix(msg, []byte("From ")) {
		return msg, false
	}
	i := bytes.IndexByte(msg, '\n')
	if i < 0 {
		return msg, false
	}
	return msg[i+1:], true
}

// readParts runs the MIME parser, turning a panic on hostile input into an error.
func (x *extractor) readParts(msg []byte) (root *enmime.Part, err error) {
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, fmt.Errorf("parser failure: %v", r)
		}
	}()
	return x.parser.ReadParts(bytes.NewReader(msg))
}

func (x *extractor) fields(d *Doc, h rawHeader) {
	var ok bool
	if d.Subject, ok = text(h["subject"]); !ok {
		d.problem("Subject: not valid UTF-8 after decoding")
	}
	from, okFrom := addresses(h["from"])
	if !okFrom {
		d.problem("From: not an address list")
	}
	d.From = strings.Join(from, "; ")
	for _, f := range []struct {
		name string
		into *[]string
	}{{"to", &d.To}, {"cc", &d.Cc}, {"bcc", &d.Bcc}} {
		if *f.into, ok = addresses(h[f.name]); !ok {
			d.problem("%s: not an address list", headerName(f.name))
		}
	}
	if raw, present := h["date"]; present {
		if d.Sent, ok = date(raw); !ok {
			d.problem("Date: %q is not a date", clip(raw, 60))
		}
	}
	// Identity headers stay exactly as written.
	d.MessageID = clean(h["message-id"])
	d.InReplyTo = clean(h["in-reply-to"])
	d.References = strings.Join(strings.Fields(clean(h["references"])), " ")
	d.ThreadIndex = clean(h["thread-index"])
	if d.MessageID != "" {
		sum := md5.Sum([]byte(d.MessageID))
		d.MessageIDHash = hex.EncodeToString(sum[:])
	}
	d.FieldHash = fieldHash(d)
}

func headerName(lower string) string {
	switch lower {
	case "cc":
		return "Cc"
	case "bcc":
		return "Bcc"
	}
	return strings.ToUpper(lower[:1]) + lower[1:]
}

// clean keeps a raw identity header as written but valid UTF-8 and on one line.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\r' || r == '\n' }), "")
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// walk adds the parts under p to d: containers are walked, bodies skipped,
// every other leaf becomes a child.
func (x *extractor) walk(d *Doc, p *enmime.Part, depth int) {
	for _, e := range p.Errors {
		if e.Severe {
			d.problem("part %s: %s", partID(p), e.Error())
		}
	}
	if p.FirstChild != nil || strings.HasPrefix(p.ContentType, "multipart/") {
		for c := p.FirstChild; c != nil; c = c.NextSibling {
			x.walk(d, c, depth)
		}
		return
	}
	if isBody(p) {
		return
	}
	d.Children = append(d.Children, x.child(p, depth+1))
}

func partID(p *enmime.Part) string {
	if p.PartID == "" {
		return "0"
	}
	return p.PartID
}

func isBody(p *enmime.Part) bool {
	if p.FileName != "" || strings.EqualFold(p.Disposition, "attachment") {
		return false
	}
	switch strings.ToLower(p.ContentType) {
	case "", "text/plain", "text/html", "text/enriched", "text/richtext":
		return true
	}
	return false
}

// child makes the Doc of one leaf part at the given depth.
func (x *extractor) child(p *enmime.Part, depth int) *Doc {
	c := &Doc{Kind: KindAttachment, ContentType: strings.ToLower(p.ContentType)}
	c.FileName = strings.ToValidUTF8(strings.TrimSpace(p.FileName), "\uFFFD")
	data, derr := decodeTransfer(p.Header.Get("Content-Transfer-Encoding"), p.Content)
	if derr != nil {
		c.problem("content: %v; %d bytes kept", derr, len(data))
	}
	isMessage := c.ContentType == "message/rfc822" || c.ContentType == "message/global"
	isTNEF := c.ContentType == "application/ms-tnef" || c.ContentType == "application/vnd.ms-tnef" ||
		strings.EqualFold(c.FileName, "winmail.dat")
	ext := extOf(c.FileName, c.ContentType)
	if isMessage {
		ext = "eml"
	}
	stored, err := x.sink.Put(bytes.NewReader(data), ext)
	if err != nil {
		c.problem("the part could not be stored: %v", err)
	}
	c.File = stored
	switch {
	case isMessage && depth >= MaxDepth:
		c.problem("attached message not opened: nested more than %d deep", MaxDepth)
	case isMessage:
		x.message(c, data, depth)
		c.Kind = KindEmail
	case isTNEF && depth >= MaxDepth:
		c.problem("winmail.dat not opened: nested more than %d deep", MaxDepth)
	case isTNEF:
		x.tnef(c, data)
	}
	if c.FileName == "" {
		c.FileName = defaultName(c, ext)
	}
	return c
}

// defaultName names a part that has no file name.
func defaultName(c *Doc, ext string) string {
	if c.Kind == KindEmail && strings.TrimSpace(c.Subject) != "" {
		return safeName(c.Subject) + ".eml"
	}
	if c.Kind == KindEmail {
		return "message.eml"
	}
	return "attachment." + ext
}

// safeName makes a subject usable as a file name.
func safeName(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r < 0x20, strings.ContainsRune(`/\:*?"<>|`, r):
			return '_'
		}
		return r
	}, strings.TrimSpace(s))
	if len(s) > 120 {
		s = strings.ToValidUTF8(s[:120], "")
	}
	return s
}

// decodeTransfer undoes a part's Content-Transfer-Encoding. What was
// decoded before a damaged spot is kept and returned with the error.
func decodeTransfer(cte string, raw []byte) ([]byte, error) {
	r, known := transferReader(cte, bytes.NewReader(raw))
	var buf bytes.Buffer
	buf.Grow(len(raw))
	_, err := io.Copy(&buf, r)
	if !known {
		err = fmt.Errorf("unknown Content-Transfer-Encoding %q, kept as is", clip(cte, 40))
	}
	return buf.Bytes(), err
}

// transferReader decodes r by the encoding; unknown encodings pass through.
func transferReader(cte string, r io.Reader) (io.Reader, bool) {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		return base64.NewDecoder(base64.RawStdEncoding, &base64Filter{r: r}), true
	case "quoted-printable":
		return quotedprintable.NewReader(r), true
	case "", "7bit", "8bit", "binary":
		return r, true
	}
	return r, false
}

// base64Filter drops everything that is not a base64 digit: line breaks,
// stray spaces and padding, as tolerant readers of mail do.
type base64Filter struct{ r io.Reader }

func (f *base64Filter) Read(p []byte) (int, error) {
	for {
		n, err := f.r.Read(p)
		k := 0
		for _, c := range p[:n] {
			if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' {
				p[k] = c
				k++
			}
		}
		if k > 0 || err != nil {
			return k, err
		}
	}
}

// extByType names the extension of a part without a file name by its type.
var extByType = map[string]string{
	"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg", "image/gif": "gif",
	"image/tiff": "tif", "image/bmp": "bmp", "text/plain": "txt", "text/html": "html",
	"text/calendar": "ics", "text/csv": "csv", "text/xml": "xml", "application/xml": "xml",
	"application/zip": "zip", "application/msword": "doc", "application/vnd.ms-excel": "xls",
	"application/vnd.ms-powerpoint": "ppt", "application/rtf": "rtf", "text/rtf": "rtf",
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document":   "docx",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         "xlsx",
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
	"message/rfc822": "eml", "message/delivery-status": "txt", "application/ms-tnef": "dat",
	"application/pgp-signature": "asc", "application/pkcs7-signature": "p7s",
	"application/x-pkcs7-signature": "p7s", "text/x-vcard": "vcf", "text/vcard": "vcf",
}

// extOf is the lower-case extension of a part's file: from its name, else
// its type, else "bin". Only letters and digits are kept, so that the
// extension is safe in a file name everywhere.
func extOf(name, ctype string) string {
	if e := strings.TrimPrefix(path.Ext(strings.ReplaceAll(name, `\`, "/")), "."); safeExt(e) {
		return strings.ToLower(e)
	}
	if e, ok := extByType[ctype]; ok {
		return e
	}
	return "bin"
}

func safeExt(e string) bool {
	if e == "" || len(e) > 10 {
		return false
	}
	for _, c := range e {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
