// Package jsondoc writes the JSON documents and lines collect prints and
// saves (validate, plan, plan files, apply lines, show, verify, doctor,
// version). Each one carries the same format_version, stamped here and
// nowhere else, as the first field.
package jsondoc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// FormatVersion is the version of every JSON document and line collect
// writes. Within a major version a field is never removed or given another
// meaning; new fields may appear. A reader refuses a newer major version.
const FormatVersion = "1.0"

// Major is the major part of FormatVersion.
const Major = 1

// Marshal encodes v, a struct or map, with format_version as its first
// field. v must not have a format_version field of its own.
func Marshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	b = bytes.TrimSpace(b)
	if len(b) < 2 || b[0] != '{' {
		return nil, fmt.Errorf("jsondoc: %T does not encode as a JSON object", v)
	}
	var out bytes.Buffer
	out.Grow(len(b) + 32)
	out.WriteString(`{"format_version":`)
	out.WriteString(strconv.Quote(FormatVersion))
	if rest := bytes.TrimSpace(b[1:]); len(rest) > 0 && rest[0] != '}' {
		out.WriteByte(',')
	}
	out.Write(b[1:])
	return out.Bytes(), nil
}

// Write prints v as one indented document followed by a newline.
func Write(w io.Writer, v any) error {
	b, err := Marshal(v)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err = w.Write(out.Bytes())
	return err
}

// WriteLine prints v as one compact line, for streams of JSON lines.
func WriteLine(w io.Writer, v any) error {
	b, err := Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// CheckVersion reads the format_version of a document and refuses one this
// collect cannot read: a newer major version, or none at all. Documents
// written before the version became a string carry the number 1.
func CheckVersion(doc []byte) error {
	var head struct {
		FormatVersion json.RawMessage `json:"format_version"`
	}
	if err := json.Unmarshal(doc, &head); err != nil || len(head.FormatVersion) == 0 {
		return errNoVersion
	}
	raw := string(head.FormatVersion)
	if s, err := strconv.Unquote(raw); err == nil {
		raw = s
	}
	majorText, _, _ := strings.Cut(raw, ".")
	major, err := strconv.Atoi(majorText)
	if err != nil || major < 1 {
		return errNoVersion
	}
	if major > Major {
		return &NewerError{Version: raw}
	}
	return nil
}

var errNoVersion = fmt.Errorf("no format_version")

// IsNoVersion reports whether err says the document carries no readable
// format_version: it is not a collect document, or it is damaged.
func IsNoVersion(err error) bool { return err == errNoVersion }

// NewerError is a document written by a newer collect.
type NewerError struct{ Version string }

func (e *NewerError) Error() string {
	return fmt.Sprintf("format %s; this collect reads format %d.x", e.Version, Major)
}
