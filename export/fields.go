package export

import (
	"fmt"
	"slices"

	"github.com/collect-ediscovery/collect/config"
)

// multiValued are the fields that hold a list: one entry per address,
// custodian, child or problem.
var multiValued = map[string]bool{
	"TO": true, "CC": true, "BCC": true, "ATTACH_DOCIDS": true,
	"ALL_CUSTODIANS": true, "PARSE_ERRORS": true,
}

// Profile is how a review platform names the fields and writes dates.
type Profile struct {
	Name       string
	Columns    map[string]string // canonical field -> column name; missing: the canonical name
	DateLayout string            // Go layout of DATE_SENT and DATE_RECEIVED
	TimeLayout string            // Go layout of TIME_SENT and TIME_RECEIVED
	Email      string            // RECORD_TYPE of a message
	Attachment string            // RECORD_TYPE of an attachment
}

var profiles = map[string]Profile{
	// Relativity maps any column name to its fields; these are the
	// canonical names, with dates as US dates.
	"relativity": {Name: "relativity", DateLayout: "01/02/2006", TimeLayout: "15:04:05",
		Email: "Email", Attachment: "Attachment"},
	// The DOJ Antitrust Division's metadata specification: field names of
	// at most 8 characters, MM/DD/YYYY dates, record types E-mail and
	// Attachment. Fields the specification does not name get short names
	// in its style.
	"doj": {Name: "doj", DateLayout: "01/02/2006", TimeLayout: "15:04:05", Email: "E-mail", Attachment: "Attachment",
		Columns: map[string]string{
			"BEGATTACH": "BEGATTCH", "ENDATTACH": "ENDATTCH", "PARENT_DOCID": "PARENTID",
			"ATTACH_DOCIDS": "ATTCHIDS", "ATTACH_COUNT": "ATTCHCNT", "RECORD_TYPE": "PRPRTIES",
			"CUSTODIAN": "CUSTDIAN", "ALL_CUSTODIANS": "ALLCUSTS", "FOLDER_PATH": "FOLDER",
			"DATE_SENT": "DOCDATE", "TIME_SENT": "TIMESENT", "DATE_RECEIVED": "DATERCVD",
			"TIME_RECEIVED": "TIMERCVD", "SENT_UTC": "SENTUTC", "RECEIVED_UTC": "RCVDUTC",
			"TIME_ZONE": "TIMEZONE", "MESSAGE_ID": "MSGID", "IN_REPLY_TO": "INREPLY",
			"REFERENCES": "REFS", "CONVERSATION_ID": "CONVID", "CONVERSATION_INDEX": "CONVINDX",
			"IS_DRAFT": "DRAFT", "FILE_NAME": "FILENAME", "FILE_EXT": "FILEEXT", "FILE_SIZE": "FILESIZE",
			"MD5": "MD5HASH", "SHA1": "SHA1HASH", "MESSAGE_ID_HASH": "MIH", "EMAIL_FIELD_HASH": "FLDHASH",
			"DUPLICATE_OF": "DUPOF", "NATIVE_PATH": "DOCLINK", "GRAPH_ID": "GRAPHID", "RUN_ID": "RUNID",
			"PARSE_ERRORS": "PRSERRS",
		}},
	// Reveal's loader maps columns by name; it reads ISO dates unambiguously.
	"reveal": {Name: "reveal", DateLayout: "2006-01-02", TimeLayout: "15:04:05", Email: "Email", Attachment: "Attachment",
		Columns: map[string]string{
			"DOCID": "DocID", "BEGATTACH": "BegAttach", "ENDATTACH": "EndAttach", "PARENT_DOCID": "ParentDocID",
			"ATTACH_DOCIDS": "AttachDocIDs", "ATTACH_COUNT": "AttachCount", "RECORD_TYPE": "RecordType",
			"CUSTODIAN": "Custodian", "ALL_CUSTODIANS": "AllCustodians", "MAILBOX": "Mailbox",
			"FOLDER_PATH": "FolderPath", "FROM": "From", "TO": "To", "CC": "CC", "BCC": "BCC",
			"SUBJECT": "Subject", "DATE_SENT": "DateSent", "TIME_SENT": "TimeSent",
			"DATE_RECEIVED": "DateReceived", "TIME_RECEIVED": "TimeReceived", "SENT_UTC": "SentUTC",
			"RECEIVED_UTC": "ReceivedUTC", "TIME_ZONE": "TimeZone", "MESSAGE_ID": "MessageID",
			"IN_REPLY_TO": "InReplyTo", "REFERENCES": "References", "CONVERSATION_ID": "ConversationID",
			"CONVERSATION_INDEX": "ConversationIndex", "IS_DRAFT": "IsDraft", "FILE_NAME": "FileName",
			"FILE_EXT": "FileExtension", "FILE_SIZE": "FileSize", "MD5": "MD5Hash", "SHA1": "SHA1Hash",
			"SHA256": "SHA256Hash", "MESSAGE_ID_HASH": "MessageIDHash", "EMAIL_FIELD_HASH": "EmailFieldHash",
			"DUPLICATE_OF": "DuplicateOf", "NATIVE_PATH": "NativeFile", "GRAPH_ID": "GraphID",
			"RUN_ID": "RunID", "PARSE_ERRORS": "ParseErrors",
		}},
}

// ProfileNamed returns a built-in profile.
func ProfileNamed(name string) (Profile, error) {
	p, ok := profiles[name]
	if !ok {
		return Profile{}, fmt.Errorf("there is no export profile %q; use one of %v", name, config.ExportProfiles)
	}
	return p, nil
}

// Column is one column of a load file: a canonical field and its name there.
type Column struct {
	Field string
	Name  string
}

// Columns lists the load file's columns under the profile, with the
// matter's renames and drops.
func Columns(p Profile, rename map[string]string, drop []string) []Column {
	var out []Column
	for _, f := range config.ExportFields {
		if slices.Contains(drop, f) {
			continue
		}
		name := f
		if n, ok := p.Columns[f]; ok {
			name = n
		}
		if n, ok := rename[f]; ok {
			name = n
		}
		out = append(out, Column{Field: f, Name: name})
	}
	return out
}
