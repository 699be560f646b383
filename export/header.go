package export

import (
	"bytes"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jhillyerd/enmime/v2"
)

// maxHeaderBlock bounds how much of a message is read as its header block:
// a message whose first blank line is further than this has a damaged
// header, and only this much of it is read.
const maxHeaderBlock = 1 << 20

// rawHeader is a message's header block as written: each field unfolded,
// its value exactly as it stands (no decoding), the first of each name.
type rawHeader map[string]string

// headerBlock returns the bytes of the header block at the start of msg
// and whether a blank line ended it within the bound.
func headerBlock(msg []byte) ([]byte, bool) {
	limit := min(len(msg), maxHeaderBlock)
	head := msg[:limit]
	for i := 0; i < len(head); i++ {
		if head[i] != '\n' {
			continue
		}
		rest := head[i+1:]
		if len(rest) > 0 && rest[0] == '\n' {
			return head[:i+1], true
		}
		if len(rest) > 1 && rest[0] == '\r' && rest[1] == '\n' {
			return head[:i+1], true
		}
	}
	if len(head) == 0 || head[0] == '\n' || bytes.HasPrefix(head, []byte("\r\n")) {
		return nil, true // no header at all
	}
	return head, false
}

// parseRawHeader reads the fields of a header block. Lines that are not
// fields (no colon) are skipped and reported in bad.
func parseRawHeader(block []byte) (h rawHeader, bad int) {
	h = rawHeader{}
	var name string
	var value strings.Builder
	flush := func() {
		if name == "" {
			return
		}
		if _, seen := h[name]; !seen {
			h[name] = strings.TrimSpace(value.String())
		}
		name = ""
		value.Reset()
	}
	for len(block) > 0 {
		line := block
		if i := bytes.IndexByte(block, '\n'); i >= 0 {
			line, block = block[:i], block[i+1:]
		} else {
			block = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if name != "" {
				// Unfolding keeps the whitespace that starts the continuation.
				value.Write(line)
			}
			continue
		}
		flush()
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 || bytes.ContainsAny(line[:colon], " \t") {
			bad++
			continue
		}
		name = strings.ToLower(string(line[:colon]))
		value.Write(line[colon+1:])
	}
	flush()
	return h, bad
}

// text decodes an unstructured header value (RFC 2047 encoded words in any
// charset enmime knows) and makes it valid UTF-8.
func text(raw string) (string, bool) {
	s := enmime.DecodeRFC2047(raw)
	if !utf8.ValidString(s) {
		return strings.ToValidUTF8(s, "\uFFFD"), false
	}
	return s, true
}

// addresses reads an address list header into "Name <addr>" entries. A
// list that does not parse is kept as its decoded text, in one entry.
func addresses(raw string) ([]string, bool) {
	if strings.TrimSpace(raw) == "" {
		return nil, true
	}
	list, err := enmime.ParseAddressList(raw)
	if err != nil || len(list) == 0 {
		s, _ := text(raw)
		return []string{s}, false
	}
	out := make([]string, 0, len(list))
	for _, a := range list {
		name, _ := text(a.Name)
		addr := strings.ToValidUTF8(a.Address, "\uFFFD")
		switch {
		case name == "" && addr == "":
		case name == "":
			out = append(out, addr)
		case addr == "":
			out = append(out, name)
		default:
			out = append(out, name+" <"+addr+">")
		}
	}
	return out, true
}

// dateLayouts are forms of Date headers seen in real mail that net/mail
// does not read.
var dateLayouts = []string{
	"Mon, 2 Jan 2006 15:04:05 -0700 (MST)",
	"Mon, 2 Jan 06 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04:05 MST",
	"Mon, 2 Jan 2006 15:04 -0700",
	"2 Jan 2006 15:04 -0700",
	"Mon Jan 2 15:04:05 2006",
	"Mon Jan 2 15:04:05 MST 2006",
	"Mon, 2 January 2006 15:04:05 -0700",
	time.RFC3339,
}

// date reads a Date header.
func date(raw string) (time.Time, bool) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return time.Time{}, false
	}
	if t, err := mail.ParseDate(s); err == nil {
		return t, true
	}
	s = strings.Join(strings.Fields(s), " ")
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
