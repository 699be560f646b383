package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// Export is the matter's export block: how collect export numbers,
// deduplicates and names the fields of a production.
type Export struct {
	Prefix  string // control number prefix, "ACME"
	Digits  int    // zero-padded width of the counter
	Dedupe  string // DedupeGlobal, DedupeCustodian or DedupeNone
	Profile string // field names and date format: relativity, doj, reveal
	Format  string // load file format: dat, csv, jsonl
	// Rename maps a field (by its canonical name) to the column name the
	// load file uses instead of the profile's; Drop lists fields left out.
	Rename    map[string]string
	Drop      []string
	DeclRange hcl.Range // zero when the matter has no export block
}

// Dedupe scopes: the first record with a key is the one every later record
// with that key names in DUPLICATE_OF.
const (
	DedupeGlobal    = "global"
	DedupeCustodian = "custodian"
	DedupeNone      = "none"
)

// ExportFields are the canonical names of the fields of a load file, in
// the order of its columns. A profile may show them under other names.
var ExportFields = []string{
	"DOCID", "BEGATTACH", "ENDATTACH", "PARENT_DOCID", "ATTACH_DOCIDS", "ATTACH_COUNT",
	"RECORD_TYPE", "CUSTODIAN", "ALL_CUSTODIANS", "MAILBOX", "FOLDER_PATH",
	"FROM", "TO", "CC", "BCC", "SUBJECT",
	"DATE_SENT", "TIME_SENT", "DATE_RECEIVED", "TIME_RECEIVED", "SENT_UTC", "RECEIVED_UTC", "TIME_ZONE",
	"MESSAGE_ID", "IN_REPLY_TO", "REFERENCES", "CONVERSATION_ID", "CONVERSATION_INDEX", "IS_DRAFT",
	"FILE_NAME", "FILE_EXT", "FILE_SIZE", "MD5", "SHA1", "SHA256",
	"MESSAGE_ID_HASH", "EMAIL_FIELD_HASH", "DUPLICATE_OF",
	"NATIVE_PATH", "GRAPH_ID", "RUN_ID", "PARSE_ERRORS",
}

// Export profiles and formats the language accepts.
var (
	ExportProfiles = []string{"relativity", "doj", "reveal"}
	ExportFormats  = []string{"dat", "csv", "jsonl"}
	exportDedupes  = []string{DedupeGlobal, DedupeCustodian, DedupeNone}
)

var exportSchema = &blockSchema{
	attrs: map[string]bool{
		"prefix": false, "digits": false, "dedupe": false, "profile": false, "format": false,
		"rename": false, "drop": false, "description": false,
	},
	singleton: true,
}

// A prefix goes into every control number and every file name a review
// platform makes from it: letters, digits, dashes and underscores only.
var exportPrefix = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,15}$`)

// A column name a review platform accepts in any of the three formats.
var exportColumn = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_#]{0,63}$`)

// defaultExport is what collect export uses when the matter says nothing.
func defaultExport() Export {
	return Export{Prefix: "DOC", Digits: 8, Dedupe: DedupeGlobal, Profile: "relativity", Format: "dat"}
}

func (l *loader) export(m *Matter, bs []*block) {
	m.Export = defaultExport()
	if len(bs) == 0 {
		return
	}
	b := bs[0]
	e := &m.Export
	e.DeclRange = b.syn.DefRange()
	if a := b.attrs["prefix"]; a != nil {
		if v, ok := l.str(a, "prefix"); ok {
			if exportPrefix.MatchString(v) {
				e.Prefix = v
			} else {
				l.errorf(a.Expr.Range().Ptr(), "Invalid control number prefix",
					"%q cannot start a control number: use 1 to 16 letters, digits, dashes or underscores, "+
						"starting with a letter or digit, such as \"ACME\" or \"ACME-PROD\".", v)
			}
		}
	}
	if a := b.attrs["digits"]; a != nil {
		if n, ok := l.intIn(a, 4, 12); ok {
			e.Digits = n
		}
	}
	for _, c := range []struct {
		name    string
		into    *string
		allowed []string
		what    string
	}{
		{"dedupe", &e.Dedupe, exportDedupes, "dedupe scope"},
		{"profile", &e.Profile, ExportProfiles, "export profile"},
		{"format", &e.Format, ExportFormats, "load file format"},
	} {
		if a := b.attrs[c.name]; a != nil {
			if v, ok := l.str(a, c.name); ok && l.oneOf(a, v, c.allowed, c.what) {
				*c.into = v
			}
		}
	}
	if a := b.attrs["drop"]; a != nil {
		if names, ok := l.strList(a, "drop"); ok {
			items, _ := hcl.ExprList(a.Expr)
			for i, n := range names {
				rng := a.Expr.Range()
				if len(items) == len(names) {
					rng = items[i].Range()
				}
				if l.knownField(&rng, n) {
					if n == "DOCID" {
						l.errorf(&rng, "DOCID cannot be dropped",
							"Every record is known by its control number: keep DOCID, or rename it with rename = { DOCID = \"BEGBATES\" }.")
						continue
					}
					e.Drop = append(e.Drop, n)
				}
			}
		}
	}
	if a := b.attrs["rename"]; a != nil {
		e.Rename = l.renames(a, e.Drop)
	}
}

// knownField reports whether name is a canonical field, with a diagnostic
// and a suggestion when it is not.
func (l *loader) knownField(rng *hcl.Range, name string) bool {
	if slices.Contains(ExportFields, name) {
		return true
	}
	detail := fmt.Sprintf("%q is not a field of a load file. Fields are named by their canonical names: %s.",
		name, strings.Join(ExportFields, ", "))
	if s := suggest(name, ExportFields); s != "" {
		detail += fmt.Sprintf(" Did you mean %q?", s)
	}
	l.errorf(rng, "Unknown export field", "%s", detail)
	return false
}

// renames reads rename = { FIELD = "COLUMN", ... }.
func (l *loader) renames(a *hclsyntax.Attribute, dropped []string) map[string]string {
	v, ds := l.scope.value(a.Expr, cty.Map(cty.String), `The argument "rename"`)
	l.add(ds)
	if ds.HasErrors() {
		return nil
	}
	// Point at the item itself when the object is written out.
	ranges := map[string]hcl.Range{}
	if obj, ok := a.Expr.(*hclsyntax.ObjectConsExpr); ok {
		for _, item := range obj.Items {
			if k, err := item.KeyExpr.Value(nil); err == nil && k.Type() == cty.String {
				ranges[k.AsString()] = hcl.RangeBetween(item.KeyExpr.Range(), item.ValueExpr.Range())
			}
		}
	}
	out := map[string]string{}
	seen := map[string]string{}
	for it := v.ElementIterator(); it.Next(); {
		k, val := it.Element()
		field, column := k.AsString(), ""
		if !val.IsNull() {
			column = val.AsString()
		}
		rng, ok := ranges[field]
		if !ok {
			rng = a.Expr.Range()
		}
		if !l.knownField(&rng, field) {
			continue
		}
		if slices.Contains(dropped, field) {
			l.errorf(&rng, "Renamed field is dropped",
				"%s is both dropped and renamed: remove it from drop or from rename.", field)
			continue
		}
		if !exportColumn.MatchString(column) {
			l.errorf(&rng, "Invalid column name",
				"%q cannot name a column: start with a letter and use up to 64 letters, digits, underscores or #, such as \"EMAIL_SUBJECT\".", column)
			continue
		}
		upper := strings.ToUpper(column)
		if prev, dup := seen[upper]; dup {
			l.errorf(&rng, "Two fields under one column name",
				"%s and %s are both renamed to %q; a load file needs a distinct name per column.", prev, field, column)
			continue
		}
		seen[upper] = field
		out[field] = column
	}
	return out
}
