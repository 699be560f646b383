package graphsim

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
)

// msgMeta is what the JSON routes say about a message and how its MIME is
// laid out; both are derived, never stored.
type msgMeta struct {
	subject        string
	fromName       string
	fromAddr       string
	toName         string
	toAddr         string
	msgID          string
	sent           time.Time
	hasAttachments bool
	preview        string
	body           string
	layout         layout
}

// segment is a piece of a message: literal text, prepared bytes, or a
// blob of seeded bytes written as base64 lines that is generated while
// streaming.
type segment struct {
	lit      string
	data     []byte
	blobSeed uint64
	blobLen  int64 // raw bytes before base64; 0 for a literal
}

type layout []segment

func b64Len(n int64) int64 {
	chars := 4 * ((n + 2) / 3)
	lines := (chars + 75) / 76
	return chars + 2*lines
}

func (l layout) size() int64 {
	var n int64
	for _, s := range l {
		if s.blobLen > 0 {
			n += b64Len(s.blobLen)
		} else {
			n += int64(len(s.lit) + len(s.data))
		}
	}
	return n
}

func (l layout) writeTo(w io.Writer) (int64, error) {
	var total int64
	for _, s := range l {
		var n int64
		var err error
		if s.blobLen > 0 {
			n, err = writeBlob(w, s.blobSeed, s.blobLen)
		} else if s.data != nil {
			var k int
			k, err = w.Write(s.data)
			n = int64(k)
		} else {
			var k int
			k, err = io.WriteString(w, s.lit)
			n = int64(k)
		}
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// writeBlob writes n seeded bytes as base64 in 76-character CRLF lines,
// a chunk at a time, so that a large attachment is never whole in memory.
// The raw stream is a seeded block repeated, each repetition stamped with
// its number in its first eight bytes: every chunk but the last reuses the
// block's encoding except for its first line, which keeps streaming cheap.
func writeBlob(w io.Writer, seed uint64, n int64) (int64, error) {
	const linesPerChunk = 512
	const rawChunk = 57 * linesPerChunk // 57 raw bytes make one 76-character line
	raw := make([]byte, rawChunk)
	state := seed | 1
	for i := 0; i < rawChunk; i += 8 {
		state ^= state << 13
		state ^= state >> 7
		state ^= state << 17
		binary.LittleEndian.PutUint64(raw[i:], state*0x2545f4914f6cdd1d)
	}
	encodeLines := func(dst, src []byte) []byte {
		for off := 0; off < len(src); off += 57 {
			dst = base64.StdEncoding.AppendEncode(dst, src[off:min(off+57, len(src))])
			dst = append(dst, '\r', '\n')
		}
		return dst
	}
	var block []byte // the encoding of a whole chunk, made when first needed
	first := make([]byte, 57)
	var enc []byte
	var total int64
	for c, left := uint64(0), n; left > 0; c++ {
		k := min(int64(rawChunk), left)
		copy(first, raw[:57])
		binary.LittleEndian.PutUint64(first, binary.LittleEndian.Uint64(raw)^splitmix(seed+c))
		if k == rawChunk {
			if block == nil {
				block = encodeLines(make([]byte, 0, linesPerChunk*78), raw)
			}
			enc = encodeLines(enc[:0], first)
			enc = append(enc, block[78:]...)
		} else {
			tail := append(append([]byte(nil), first...), raw[57:]...)[:k]
			if k < 57 {
				tail = first[:k]
			}
			enc = encodeLines(enc[:0], tail)
		}
		m, err := w.Write(enc)
		total += int64(m)
		if err != nil {
			return total, err
		}
		left -= k
	}
	return total, nil
}

var (
	firstNames = []string{"Alex", "Priya", "Jordan", "Lars", "Sofia", "Kenji", "Amara", "Diego", "Hannah", "Omar", "Chloé", "Björn", "Zoë", "José", "Łukasz", "Søren"}
	lastNames  = []string{"Rivera", "Patel", "Nguyen", "Schmidt", "Okafor", "Tanaka", "Kowalski", "Dubois", "Müller", "García", "O'Brien", "Andersson"}
	domains    = []string{"fabrikam.invalid", "northwind.invalid", "contoso.invalid", "adatum.invalid", "tailspin.invalid"}
	topics     = []string{"Q3 forecast", "Globex contract", "board pack", "supplier audit", "pricing review", "merger timeline", "budget variance", "holiday schedule", "vendor onboarding", "site visit", "legal hold notice", "invoice 4471"}
	openers    = []string{"Re: ", "RE: ", "Fwd: ", "FW: ", "", "", "", ""}
	words      = strings.Fields("the of and to in a is that for it as was with be by on not he this are or his from at which but have an they you were her she there been one all we their has would when if so no will more about out up them some could what into than then its only other time new these two may first any like now my such our over also after most even made many before must through back years where much your way well down should because each just those people how too little state good very make world still own see men work long get here between both life being under never day same another know while last might us great old year off come since against go came right used take three")
	accented   = []string{"Grüße", "Zürich", "naïve", "façade", "Ελληνικά", "日本語のメモ", "Привет", "coöperation", "São Paulo", "€1.250,00"}
	attachKind = []struct{ ctype, name string }{
		{"application/pdf", "Board pack.pdf"},
		{"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Forecast FY24.xlsx"},
		{"image/png", "scan.png"},
		{"application/zip", "exhibits.zip"},
		{"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Draft agreement v3.docx"},
	}
)

func pick[T any](s []T, h uint64) T { return s[h%uint64(len(s))] }

func personName(h uint64) string {
	return pick(firstNames, h) + " " + pick(lastNames, h>>16)
}

func personAddr(name string, h uint64) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('.')
		}
	}
	return b.String() + "@" + pick(domains, h>>32)
}

// msgSnap is what deriving a message needs, copied under the tenant lock
// so that the expensive part can run without it.
type msgSnap struct {
	seed   uint64
	mbx    uint32
	serial uint32
	m      message
	raw    *rawMessage  // for verbatim messages
	owner  *user        // its identity fields never change
	spec   *MessageSpec // never changed once stored
}

func (t *Tenant) snapLocked(mb *mailbox, serial uint32) msgSnap {
	sn := msgSnap{seed: uint64(t.cfg.Seed), mbx: mb.idx, serial: serial, m: mb.msgs[serial], owner: mb.owner}
	if sn.m.raw != 0 {
		sn.raw = t.raws[sn.m.raw-1]
	}
	if sn.m.flags&flagCustom != 0 {
		sn.spec = mb.specs[serial]
	}
	return sn
}

// metaLocked derives a message's metadata and, with full, its body and
// MIME layout, which cost far more to make.
func (t *Tenant) metaLocked(mb *mailbox, serial uint32, full bool) msgMeta {
	return t.snapLocked(mb, serial).meta(full)
}

func (sn msgSnap) meta(full bool) msgMeta {
	m, serial, owner := &sn.m, sn.serial, sn.owner
	if rm := sn.raw; rm != nil {
		return msgMeta{
			subject: rm.subject, fromAddr: rm.from, msgID: rm.msgID, sent: rm.date,
			toAddr: owner.Mail, layout: layout{{lit: rm.data}}, hasAttachments: rm.hasAttach,
		}
	}
	h := mix(sn.seed, uint64(sn.mbx), uint64(serial))
	hv := mix(h, uint64(m.version))
	received := time.Unix(m.received, 0).UTC()
	md := msgMeta{
		subject: pick(openers, h>>3) + pick(topics, h>>9),
		msgID:   fmt.Sprintf("%016x.%08x@%s", mix(h, 1), serial, "mail.sim.collect.invalid"),
		sent:    received.Add(-time.Duration(5+h%300) * time.Second),
	}
	nonASCII := (h>>20)%5 == 0
	other := personName(h >> 24)
	if nonASCII {
		md.subject += " – " + pick(accented, h>>28)
	}
	otherAddr := personAddr(other, h>>30)
	draft := m.flags&flagDraft != 0
	if draft || (h>>40)%4 == 0 {
		md.fromName, md.fromAddr, md.toName, md.toAddr = owner.DisplayName, owner.Mail, other, otherAddr
	} else {
		md.fromName, md.fromAddr, md.toName, md.toAddr = other, otherAddr, owner.DisplayName, owner.Mail
	}
	if draft {
		md.sent = time.Unix(m.modified, 0).UTC()
	}
	if m.flags&flagCustom != 0 {
		if s := sn.spec; s != nil {
			if s.Subject != "" {
				md.subject = s.Subject
			}
			if s.From != "" {
				md.fromName, md.fromAddr = displayFromAddress(s.From), strings.ToLower(s.From)
			}
			if s.To != "" {
				md.toName, md.toAddr = displayFromAddress(s.To), strings.ToLower(s.To)
			}
		}
	}
	kind := (h >> 44) % 100
	if m.size > 0 {
		kind = 99
	}
	if !full {
		md.hasAttachments = kind >= 80
		return md
	}
	body := bodyText(hv, int(1500+(hv>>8)%30000), nonASCII)
	md.preview, md.body = body, body
	if len(md.preview) > 255 {
		md.preview = strings.ToValidUTF8(md.preview[:255], "")
	}
	var l layout
	var hdr strings.Builder
	if !draft {
		fmt.Fprintf(&hdr, "Received: from %s (10.%d.%d.%d) by mail.sim.collect.invalid (10.0.0.1) with Microsoft\r\n SMTP Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.7452.28;\r\n %s\r\n",
			domainOf(md.fromAddr), h>>8&0xff, h>>16&0xff, h>>24&0xff, received.Format(time.RFC1123Z))
	}
	fmt.Fprintf(&hdr, "From: %s\r\n", addrHeader(md.fromName, md.fromAddr))
	fmt.Fprintf(&hdr, "To: %s\r\n", addrHeader(md.toName, md.toAddr))
	if (h>>50)%3 == 0 {
		cc := personName(h >> 52)
		fmt.Fprintf(&hdr, "CC: %s,\r\n\t%s\r\n", addrHeader(cc, personAddr(cc, h>>54)), addrHeader("Records", "records@"+domainOf(owner.Mail)))
	}
	fmt.Fprintf(&hdr, "Subject: %s\r\n", encodeHeader(md.subject))
	fmt.Fprintf(&hdr, "Thread-Topic: %s\r\n", encodeHeader(threadTopic(md.subject)))
	fmt.Fprintf(&hdr, "Date: %s\r\n", md.sent.Format(time.RFC1123Z))
	fmt.Fprintf(&hdr, "Message-ID: <%s>\r\n", md.msgID)
	hdr.WriteString("Accept-Language: en-US\r\nContent-Language: en-US\r\n")
	boundary := fmt.Sprintf("_%03d_%016xsimcollect_", 0, mix(h, 2))
	mixedBoundary := fmt.Sprintf("_%03d_%016xsimcollect_", 4, mix(h, 2))
	switch {
	case kind < 25: // plain text
		hdr.WriteString("X-MS-Has-Attach: \r\nMIME-Version: 1.0\r\n")
		hdr.WriteString("Content-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
		hdr.WriteString(qp(body))
		l = layout{{lit: hdr.String()}}
	case kind < 45: // HTML only
		hdr.WriteString("X-MS-Has-Attach: \r\nMIME-Version: 1.0\r\n")
		hdr.WriteString("Content-Type: text/html; charset=\"utf-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
		hdr.WriteString(qp(htmlOf(body)))
		l = layout{{lit: hdr.String()}}
	case kind < 80: // multipart/alternative
		hdr.WriteString("X-MS-Has-Attach: \r\nMIME-Version: 1.0\r\n")
		fmt.Fprintf(&hdr, "Content-Type: multipart/alternative;\r\n\tboundary=\"%s\"\r\n\r\n", boundary)
		writeAlternative(&hdr, boundary, body)
		l = layout{{lit: hdr.String()}}
	default: // multipart/mixed with attachments
		md.hasAttachments = true
		hdr.WriteString("X-MS-Has-Attach: yes\r\nMIME-Version: 1.0\r\n")
		fmt.Fprintf(&hdr, "Content-Type: multipart/mixed;\r\n\tboundary=\"%s\"\r\n\r\n", mixedBoundary)
		fmt.Fprintf(&hdr, "--%s\r\nContent-Type: multipart/alternative;\r\n\tboundary=\"%s\"\r\n\r\n", mixedBoundary, boundary)
		writeAlternative(&hdr, boundary, body)
		n := 1 + int((h>>56)%3)
		var big int64
		if m.size > 0 {
			n = 1
			big = int64(m.size)*57/78 - int64(hdr.Len())
			if big < 1024 {
				big = 1024
			}
		}
		for i := 0; i < n; i++ {
			ak := attachKind[(h>>(8*uint(i)))%uint64(len(attachKind))]
			size := int64(2048 + mix(h, 3, uint64(i))%40000)
			if big > 0 {
				size = big
			}
			name := ak.name
			if nonASCII && i == 0 {
				name = "Übersicht " + name
			}
			fmt.Fprintf(&hdr, "\r\n--%s\r\nContent-Type: %s; name=\"%s\"\r\nContent-Description: %s\r\nContent-Disposition: attachment; filename=\"%s\"; size=%d;\r\n\tcreation-date=\"%s\";\r\n\tmodification-date=\"%s\"\r\nContent-Transfer-Encoding: base64\r\n\r\n",
				mixedBoundary, ak.ctype, encodeHeader(name), encodeHeader(name), encodeHeader(name), size,
				md.sent.Format(time.RFC1123), md.sent.Format(time.RFC1123))
			l = append(l, segment{lit: hdr.String()}, segment{blobSeed: mix(h, 4, uint64(i)), blobLen: size})
			hdr.Reset()
		}
		fmt.Fprintf(&hdr, "\r\n--%s--\r\n", mixedBoundary)
		l = append(l, segment{lit: hdr.String()})
	}
	md.layout = l
	return md
}

func writeAlternative(b *strings.Builder, boundary, body string) {
	fmt.Fprintf(b, "--%s\r\nContent-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", boundary)
	b.WriteString(qp(body))
	fmt.Fprintf(b, "\r\n--%s\r\nContent-Type: text/html; charset=\"utf-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n", boundary)
	b.WriteString(qp(htmlOf(body)))
	fmt.Fprintf(b, "\r\n--%s--\r\n", boundary)
}

func domainOf(addr string) string {
	_, d, _ := strings.Cut(addr, "@")
	return d
}

func addrHeader(name, addr string) string {
	if name == "" {
		return "<" + addr + ">"
	}
	return (&mail.Address{Name: name, Address: addr}).String()
}

func encodeHeader(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return mime.BEncoding.Encode("utf-8", s)
		}
	}
	return s
}

func bodyText(h uint64, n int, nonASCII bool) string {
	var b strings.Builder
	b.Grow(n + 64)
	state := h | 1
	next := func() uint64 {
		state ^= state << 13
		state ^= state >> 7
		state ^= state << 17
		return state
	}
	b.WriteString("Hello,\r\n\r\n")
	line := 0
	sentence := 0
	for b.Len() < n {
		v := next()
		var w string
		if nonASCII && v%23 == 0 {
			w = pick(accented, v>>8)
		} else {
			w = pick(words, v>>8)
		}
		if sentence == 0 {
			w = strings.ToUpper(w[:1]) + w[1:]
		}
		if line+len(w)+1 > 72 {
			b.WriteString("\r\n")
			line = 0
		} else if line > 0 {
			b.WriteByte(' ')
			line++
		}
		b.WriteString(w)
		line += len(w)
		sentence++
		if sentence > 6 && v%7 == 0 {
			b.WriteByte('.')
			line++
			sentence = 0
			if v%5 == 0 {
				b.WriteString("\r\n\r\n")
				line = 0
			}
		}
	}
	b.WriteString(".\r\n\r\nRegards\r\n")
	return b.String()
}

func htmlOf(body string) string {
	var b strings.Builder
	b.WriteString("<html>\r\n<head>\r\n<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">\r\n</head>\r\n<body dir=\"ltr\">\r\n<div style=\"font-family:Calibri,Helvetica,sans-serif;font-size:12pt\">\r\n")
	for _, p := range strings.Split(body, "\r\n\r\n") {
		if strings.TrimSpace(p) == "" {
			continue
		}
		b.WriteString("<p>")
		b.WriteString(strings.ReplaceAll(escapeHTML(p), "\r\n", " "))
		b.WriteString("</p>\r\n")
	}
	b.WriteString("</div>\r\n</body>\r\n</html>\r\n")
	return b.String()
}

// htmlEscaper is read-only once built.
var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func escapeHTML(s string) string { return htmlEscaper.Replace(s) }

func qp(s string) string {
	var b bytes.Buffer
	w := quotedprintable.NewWriter(&b)
	_, _ = w.Write([]byte(s))
	_ = w.Close()
	return b.String()
}

// parseRaw reads the few headers the JSON routes show from verbatim MIME.
func parseRaw(data []byte, path string) *rawMessage {
	rm := &rawMessage{data: string(data), path: path,
		hasAttach: bytes.Contains(bytes.ToLower(data), []byte("content-disposition: attachment"))}
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return rm
	}
	dec := mime.WordDecoder{CharsetReader: func(charset string, input io.Reader) (io.Reader, error) { return input, nil }}
	if s, err := dec.DecodeHeader(msg.Header.Get("Subject")); err == nil {
		rm.subject = s
	} else {
		rm.subject = msg.Header.Get("Subject")
	}
	if a, err := mail.ParseAddress(msg.Header.Get("From")); err == nil {
		rm.from = strings.ToLower(a.Address)
	}
	rm.msgID = strings.Trim(strings.TrimSpace(msg.Header.Get("Message-ID")), "<>")
	if d, err := msg.Header.Date(); err == nil {
		rm.date = d.UTC()
	}
	return rm
}
