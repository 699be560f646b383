package export

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/collect-ediscovery/collect/state"
)

// fieldHash is the email field key peers deduplicate by when a message has
// no Message-ID: SHA-256 over From, To, Cc, Bcc, Subject and the sent
// time, each lower-cased with its spaces collapsed, joined by 0x1F.
func fieldHash(d *Doc) string {
	norm := func(s string) string { return strings.Join(strings.Fields(strings.ToLower(s)), " ") }
	normList := func(vs []string) string {
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = norm(v)
		}
		return strings.Join(out, ";")
	}
	sent := ""
	if !d.Sent.IsZero() {
		sent = d.Sent.UTC().Format(time.RFC3339)
	}
	parts := []string{norm(d.From), normList(d.To), normList(d.Cc), normList(d.Bcc), norm(d.Subject), sent}
	if strings.Join(parts, "") == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x1f")))
	return hex.EncodeToString(sum[:])
}

// record makes the load file row of member i of a family.
func (e *exporter) record(f *family, i int, all []string, first string) Record {
	mem := f.members[i]
	d := mem.doc
	top := f.members[0]
	r := Record{}
	r.set("DOCID", mem.docid)
	r.set("BEGATTACH", top.docid)
	r.set("ENDATTACH", f.members[len(f.members)-1].docid)
	if mem.parent >= 0 {
		r.set("PARENT_DOCID", f.members[mem.parent].docid)
	}
	for _, k := range mem.kids {
		r["ATTACH_DOCIDS"] = append(r["ATTACH_DOCIDS"], f.members[k].docid)
	}
	r.set("ATTACH_COUNT", strconv.Itoa(len(mem.kids)))
	if i == 0 {
		r.set("RECORD_TYPE", e.profile.Email)
	} else {
		r.set("RECORD_TYPE", e.profile.Attachment)
	}
	custodians := make([]string, 0, len(f.item.Custodians))
	for _, c := range f.item.Custodians {
		custodians = append(custodians, e.custodianName(c))
	}
	if len(custodians) > 0 {
		r.set("CUSTODIAN", custodians[0])
	}
	if len(all) > 1 {
		for _, c := range all {
			r["ALL_CUSTODIANS"] = append(r["ALL_CUSTODIANS"], e.custodianName(c))
		}
	}
	r.set("MAILBOX", f.mailbox)
	r.set("FOLDER_PATH", f.item.FolderPath)
	if d.Kind == KindEmail {
		r.set("FROM", d.From)
		r["TO"], r["CC"], r["BCC"] = d.To, d.Cc, d.Bcc
		r.set("SUBJECT", d.Subject)
		sent := d.Sent
		var received time.Time
		if i == 0 {
			// Graph's times for the collected message; its Date header
			// only when Graph gave none.
			if !f.item.Sent.IsZero() {
				sent = f.item.Sent
			}
			received = f.item.Received
		}
		e.times(r, "SENT", sent)
		e.times(r, "RECEIVED", received)
		if !sent.IsZero() || !received.IsZero() {
			r.set("TIME_ZONE", e.m.TimeZone.String())
		}
		r.set("MESSAGE_ID", d.MessageID)
		r.set("IN_REPLY_TO", d.InReplyTo)
		r.set("REFERENCES", d.References)
		r.set("CONVERSATION_INDEX", d.ThreadIndex)
		r.set("MESSAGE_ID_HASH", d.MessageIDHash)
		r.set("EMAIL_FIELD_HASH", d.FieldHash)
	}
	name := d.FileName
	if i == 0 {
		name = defaultName(d, "eml") // a collected message has no file name of its own
	}
	r.set("FILE_NAME", name)
	if d.File.Path != "" {
		ext := d.File.Path[strings.LastIndexByte(d.File.Path, '.')+1:]
		r.set("FILE_EXT", ext)
	}
	r.set("FILE_SIZE", strconv.FormatInt(d.File.Size, 10))
	r.set("MD5", d.File.MD5)
	r.set("SHA1", d.File.SHA1)
	r.set("SHA256", d.File.SHA256)
	if i == 0 && first != "" && first != mem.docid {
		r.set("DUPLICATE_OF", first)
	}
	r.set("NATIVE_PATH", d.File.Path)
	if i == 0 {
		r.set("GRAPH_ID", f.item.ID)
		r.set("CONVERSATION_ID", f.item.ConversationID)
		r.set("IS_DRAFT", draftValue(f.item))
	}
	r.set("RUN_ID", f.item.RunID)
	r["PARSE_ERRORS"] = d.Errors
	for k, v := range r {
		if len(v) == 0 {
			delete(r, k)
		}
	}
	return r
}

func (e *exporter) times(r Record, which string, t time.Time) {
	if t.IsZero() {
		return
	}
	local := t.In(e.m.TimeZone)
	r.set("DATE_"+which, local.Format(e.profile.DateLayout))
	r.set("TIME_"+which, local.Format(e.profile.TimeLayout))
	r.set(which+"_UTC", t.UTC().Format(time.RFC3339))
}

func (e *exporter) custodianName(label string) string {
	if n, ok := e.names[label]; ok {
		return n
	}
	return label
}

// draftValue is IS_DRAFT of a collected message: Yes or No, or empty for
// one collected before collect recorded Graph's isDraft, which also left
// its conversation ID unrecorded (Graph gives every message one).
func draftValue(it state.Item) string {
	switch {
	case it.IsDraft:
		return "Yes"
	case it.ConversationID != "":
		return "No"
	}
	return ""
}
