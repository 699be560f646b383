package export

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"mime/multipart"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/jhillyerd/enmime/v2"
	"github.com/jhillyerd/enmime/v2/mediatype"
)

// A message too large to hold whole (a 100 MB native) is read as a stream
// with the standard library's multipart reader: memory stays that of a
// few buffers, whatever the size of the parts. Each part streams through
// its transfer decoding into the sink. The in-memory path, with enmime's
// tolerance for broken structure, reads every other message.

// opener reads back a part the sink stored.
type opener interface {
	Open(path string) (io.ReadCloser, error)
}

// streamMessage reads the message in r into d, storing its parts as they
// stream past. limit is the size up to which an attached message is read
// back and opened.
func (x *extractor) streamMessage(d *Doc, r io.Reader, depth int, limit int64) {
	d.Kind = KindEmail
	br := bufio.NewReaderSize(r, 64<<10)
	if head, err := br.Peek(5); err == nil && string(head) == "From " {
		br.ReadSlice('\n') // an mbox separator line
	}
	block, err := readHeaderBlock(br)
	if err != nil {
		d.problem("the header could not be read: %v", err)
	}
	h, bad := parseRawHeader(block)
	if bad > 0 {
		d.problem("%d header lines are not fields", bad)
	}
	x.fields(d, h)
	x.streamPart(d, h["content-type"], h["content-transfer-encoding"], "", "", br, depth, limit)
	if _, err := io.Copy(io.Discard, br); err != nil {
		d.problem("the message could not be read to its end: %v", err)
	}
}

// readHeaderBlock reads up to and including the blank line that ends a
// header, at most maxHeaderBlock bytes.
func readHeaderBlock(br *bufio.Reader) ([]byte, error) {
	var block []byte
	for len(block) < maxHeaderBlock {
		line, err := br.ReadSlice('\n')
		block = append(block, line...)
		if len(bytes.TrimRight(line, "\r\n")) == 0 && (len(line) > 0 || err != nil) {
			return block, nil
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return block, nil
			}
			return block, err
		}
	}
	return block, errors.New("the header has no end within 1 MiB")
}

// streamPart reads one part's body from r: a multipart is walked, a body
// text skipped, any other part stored as a child of d.
func (x *extractor) streamPart(d *Doc, ctype, cte, disposition, id string, r io.Reader, depth int, limit int64) {
	mediaType, params, _, err := mediatype.Parse(ctype)
	mediaType = strings.ToLower(mediaType)
	if err != nil && strings.TrimSpace(ctype) != "" {
		d.problem("part %s: Content-Type %q: %v", partName(id), clip(ctype, 60), err)
	}
	if mediaType == "" {
		mediaType = "text/plain"
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		boundary := params["boundary"]
		if boundary == "" {
			d.problem("part %s: a multipart without a boundary, read as one part", partName(id))
		} else {
			x.streamMultipart(d, boundary, id, r, depth, limit)
			return
		}
	}
	_, dparams, _, _ := mediatype.Parse(disposition)
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	name = strings.ToValidUTF8(strings.TrimSpace(enmime.DecodeRFC2047(name)), "\uFFFD")
	dispType, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(disposition)), ";")
	if isBody(&enmime.Part{ContentType: mediaType, FileName: name, Disposition: strings.TrimSpace(dispType)}) {
		io.Copy(io.Discard, r)
		return
	}
	d.Children = append(d.Children, x.streamChild(mediaType, name, cte, r, depth+1, limit))
}

func partName(id string) string {
	if id == "" {
		return "0"
	}
	return id
}

func (x *extractor) streamMultipart(d *Doc, boundary, id string, r io.Reader, depth int, limit int64) {
	mr := multipart.NewReader(r, boundary)
	for n := 1; ; n++ {
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			d.problem("part %s: the multipart ends early: %v", partName(id), err)
			return
		}
		h := textproto.MIMEHeader(p.Header)
		sub := strings.TrimPrefix(id+"."+strconv.Itoa(n), ".")
		x.streamPart(d, h.Get("Content-Type"), h.Get("Content-Transfer-Encoding"), h.Get("Content-Disposition"), sub, p, depth, limit)
	}
}

// streamChild stores one streamed part and, for a winmail.dat or an
// attached message small enough, reads it back to open it.
func (x *extractor) streamChild(ctype, name, cte string, r io.Reader, depth int, limit int64) *Doc {
	c := &Doc{Kind: KindAttachment, ContentType: strings.ToLower(ctype), FileName: name}
	isMessage := c.ContentType == "message/rfc822" || c.ContentType == "message/global"
	isTNEF := c.ContentType == "application/ms-tnef" || c.ContentType == "application/vnd.ms-tnef" ||
		strings.EqualFold(name, "winmail.dat")
	ext := extOf(name, c.ContentType)
	if isMessage {
		ext = "eml"
	}
	dec, known := transferReader(cte, r)
	if !known {
		c.problem("content: unknown Content-Transfer-Encoding %q, kept as is", clip(cte, 40))
	}
	stored, err := x.sink.Put(dec, ext)
	if err != nil {
		c.problem("content: %v; %d bytes kept", err, stored.Size)
	}
	c.File = stored
	open, canOpen := x.sink.(opener)
	switch {
	case !isMessage && !isTNEF:
	case depth >= MaxDepth:
		c.problem("%s not opened: nested more than %d deep", map[bool]string{true: "attached message", false: "winmail.dat"}[isMessage], MaxDepth)
	case stored.Size > limit || !canOpen:
		c.problem("%s not opened: larger than %d MiB", map[bool]string{true: "attached message", false: "winmail.dat"}[isMessage], limit>>20)
	default:
		data, err := readStored(open, stored.Path)
		if err != nil {
			c.problem("the stored part could not be read back: %v", err)
			break
		}
		if isMessage {
			x.message(c, data, depth)
			c.Kind = KindEmail
		} else {
			x.tnef(c, data)
		}
	}
	if c.FileName == "" {
		c.FileName = defaultName(c, ext)
	}
	return c
}

func readStored(o opener, path string) ([]byte, error) {
	f, err := o.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}
