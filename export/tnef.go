package export

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
)

// A winmail.dat (TNEF, [MS-OXTNEF]) carries Outlook's attachments inside
// one MIME part. Its attachment list is a sequence of attributes; the ones
// read here are enough to take out each attachment's title and bytes:
//
//	signature u32 | key u16 | { level u8 | id u32 | length u32 | data | checksum u16 } ...
//
// Attachments that Outlook stores only as MAPI properties (attached
// Outlook items, long file names) are not read: the title is the file name.
const (
	tnefSignature      = 0x223E9F78
	tnefLevelAttach    = 2
	tnefAttachRendData = 0x00069002 // starts each attachment
	tnefAttachTitle    = 0x00018010 // its file name
	tnefAttachData     = 0x0006800F // its bytes
)

type tnefAttachment struct {
	title string
	data  []byte
}

// parseTNEF lists the attachments of a TNEF stream. It returns what it
// read before a damaged spot together with the error.
func parseTNEF(b []byte) ([]tnefAttachment, error) {
	if len(b) < 6 || binary.LittleEndian.Uint32(b) != tnefSignature {
		return nil, fmt.Errorf("not a TNEF stream (no signature)")
	}
	b = b[6:]
	var out []tnefAttachment
	for len(b) > 0 {
		if len(b) < 9 {
			return out, fmt.Errorf("TNEF stream cut short")
		}
		level, id, n := b[0], binary.LittleEndian.Uint32(b[1:]), binary.LittleEndian.Uint32(b[5:])
		b = b[9:]
		if uint64(n)+2 > uint64(len(b)) {
			return out, fmt.Errorf("TNEF attribute %08x is longer than the stream", id)
		}
		data := b[:n]
		b = b[n+2:] // the checksum is not needed to read the bytes
		if level != tnefLevelAttach {
			continue
		}
		switch id {
		case tnefAttachRendData:
			out = append(out, tnefAttachment{})
		case tnefAttachTitle:
			if len(out) > 0 {
				out[len(out)-1].title = strings.TrimRight(string(data), "\x00")
			}
		case tnefAttachData:
			if len(out) > 0 {
				out[len(out)-1].data = data
			}
		}
	}
	return out, nil
}

// tnef opens a winmail.dat part: each attachment in it becomes a child.
func (x *extractor) tnef(d *Doc, data []byte) {
	atts, err := parseTNEF(data)
	if err != nil {
		d.problem("winmail.dat: %v; %d attachments read", err, len(atts))
	}
	for _, a := range atts {
		c := &Doc{Kind: KindAttachment, FileName: strings.ToValidUTF8(a.title, "\uFFFD")}
		ext := extOf(c.FileName, "")
		stored, err := x.sink.Put(bytes.NewReader(a.data), ext)
		if err != nil {
			c.problem("the part could not be stored: %v", err)
		}
		c.File = stored
		if c.FileName == "" {
			c.FileName = "attachment." + ext
		}
		d.Children = append(d.Children, c)
	}
}
