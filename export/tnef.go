package export

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf16"
)

// A winmail.dat (TNEF, [MS-OXTNEF]) carries Outlook's attachments inside
// one MIME part. Its attachment list is a sequence of attributes; the ones
// read here are enough to take out each attachment's title and bytes:
//
//	signature u32 | key u16 | { level u8 | id u32 | length u32 | data | checksum u16 } ...
//
// The title is an 8.3 name when Outlook wrote a long one among the
// attachment's MAPI properties (attAttachment): that one is taken when the
// property list reads cleanly. Attached Outlook items, which exist only as
// MAPI properties, are not read.
const (
	tnefSignature      = 0x223E9F78
	tnefLevelAttach    = 2
	tnefAttachRendData = 0x00069002 // starts each attachment
	tnefAttachTitle    = 0x00018010 // its file name
	tnefAttachData     = 0x0006800F // its bytes
	tnefAttachProps    = 0x00069005 // its MAPI properties
	mapiLongFileName   = 0x3707     // PR_ATTACH_LONG_FILENAME
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
		case tnefAttachProps:
			if name := mapiLongName(data); name != "" && len(out) > 0 {
				out[len(out)-1].title = name
			}
		}
	}
	return out, nil
}

// mapiFixedSize is the size of a fixed-size MAPI property value in TNEF
// (2-byte values are padded to 4).
var mapiFixedSize = map[uint16]int{
	0x0001: 4, 0x0002: 4, 0x0003: 4, 0x0004: 4, 0x0005: 8, 0x0006: 8, 0x0007: 8,
	0x000A: 4, 0x000B: 4, 0x0014: 8, 0x0040: 8, 0x0048: 16,
}

// mapiLongName reads PR_ATTACH_LONG_FILENAME from a TNEF property list
// ([MS-OXTNEF] 2.1.3.4); "" when it is absent or the list does not read.
func mapiLongName(b []byte) string {
	r := tnefReader{b: b}
	count := r.u32()
	for i := uint32(0); i < count && !r.bad; i++ {
		tag := r.u32()
		typ, id := uint16(tag), uint16(tag>>16)
		if id >= 0x8000 { // a named property: GUID, then an ID or a name
			r.skip(16)
			if r.u32() == 0 {
				r.skip(4)
			} else {
				r.skip(pad4(int(r.u32())))
			}
		}
		base, multi := typ&^0x1000, typ&0x1000 != 0
		if size, fixed := mapiFixedSize[base]; fixed {
			n := 1
			if multi {
				n = int(r.u32())
			}
			r.skip(n * size)
			continue
		}
		switch base {
		case 0x001E, 0x001F, 0x0102, 0x000D: // string8, unicode, binary, object
		default:
			return "" // a type this reader does not know: stop
		}
		n := int(r.u32())
		for j := 0; j < n && !r.bad; j++ {
			v := r.bytes(int(r.u32()))
			if id == mapiLongFileName && j == 0 && !r.bad {
				if base == 0x001F {
					return strings.TrimRight(utf16le(v), "\x00")
				}
				if base == 0x001E {
					return strings.TrimRight(string(v), "\x00")
				}
			}
		}
	}
	return ""
}

// tnefReader reads little-endian values; past the end of b it is bad
// and reads nothing more.
type tnefReader struct {
	b   []byte
	bad bool
}

// bytes reads n bytes and the padding that rounds them up to 4.
func (r *tnefReader) bytes(n int) []byte {
	if r.bad || n < 0 || n > len(r.b) {
		r.bad = true
		return nil
	}
	v := r.b[:n]
	r.b = r.b[min(pad4(n), len(r.b)):]
	return v
}

func (r *tnefReader) u32() uint32 {
	v := r.bytes(4)
	if len(v) < 4 {
		return 0
	}
	return binary.LittleEndian.Uint32(v)
}

func (r *tnefReader) skip(n int) { r.bytes(n) }

func pad4(n int) int { return (n + 3) &^ 3 }

func utf16le(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
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
