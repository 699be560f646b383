package export

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Record is one row of a load file: the values of its fields by canonical
// name. A multi-valued field holds one entry per value; any other field
// holds at most one.
type Record map[string][]string

func (r Record) set(field, v string) {
	if v != "" {
		r[field] = []string{v}
	}
}

func (r Record) first(field string) string {
	if v := r[field]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Concordance delimiters, as Relativity and Reveal read them by default.
const (
	datColumn    = "\x14"   // ASCII 20, shown as ¶ by Concordance
	datQuote     = "\u00fe" // þ
	datNewline   = "\u00ae" // ®
	datMulti     = ";"
	utf8BOM      = "\ufeff"
	recordEndDAT = "\r\n"
)

// LoadFile writes rows of one format.
type LoadFile interface {
	Header(cols []Column) error
	Write(cols []Column, r Record) error
	Flush() error
}

// Extension is the file name extension of a format's load file.
func Extension(format string) string {
	switch format {
	case "csv":
		return "csv"
	case "jsonl":
		return "jsonl"
	}
	return "dat"
}

// NewLoadFile returns the writer of a format: dat, csv or jsonl.
func NewLoadFile(format string, w io.Writer) (LoadFile, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	switch format {
	case "dat":
		return &datFile{w: bw}, nil
	case "csv":
		c := csv.NewWriter(bw)
		c.UseCRLF = true
		return &csvFile{w: bw, c: c}, nil
	case "jsonl":
		return &jsonlFile{w: bw}, nil
	}
	return nil, fmt.Errorf("there is no load file format %q; use dat, csv or jsonl", format)
}

// datValue makes a value safe between þ quotes: a þ in the value would end
// it, so it becomes Þ; a column delimiter becomes a space; each line break
// becomes ®, the in-field newline.
func datValue(s string) string {
	if !strings.ContainsAny(s, "\x14\u00fe\r\n") {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.NewReplacer("\x14", " ", "\u00fe", "\u00de", "\r", datNewline, "\n", datNewline).Replace(s)
}

// joined writes a multi-valued field: entries separated by ";", an entry's
// own ";" written as ",", so that each entry stays one value.
func joined(vs []string, sep string) string {
	clean := make([]string, len(vs))
	for i, v := range vs {
		clean[i] = strings.ReplaceAll(v, ";", ",")
	}
	return strings.Join(clean, sep)
}

type datFile struct {
	w       *bufio.Writer
	started bool
}

func (d *datFile) row(vals []string) error {
	if !d.started {
		d.w.WriteString(utf8BOM)
		d.started = true
	}
	for i, v := range vals {
		if i > 0 {
			d.w.WriteString(datColumn)
		}
		d.w.WriteString(datQuote)
		d.w.WriteString(datValue(v))
		d.w.WriteString(datQuote)
	}
	_, err := d.w.WriteString(recordEndDAT)
	return err
}

// names are the column names of a header row.
func names(cols []Column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.Name
	}
	return out
}

// values are a record's values in column order, multi-values joined by sep.
func values(cols []Column, r Record, sep string) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		if multiValued[c.Field] {
			out[i] = joined(r[c.Field], sep)
		} else {
			out[i] = r.first(c.Field)
		}
	}
	return out
}

func (d *datFile) Header(cols []Column) error { return d.row(names(cols)) }

func (d *datFile) Write(cols []Column, r Record) error { return d.row(values(cols, r, datMulti)) }

func (d *datFile) Flush() error { return d.w.Flush() }

type csvFile struct {
	w       *bufio.Writer
	c       *csv.Writer
	started bool
}

func (c *csvFile) row(vals []string) error {
	if !c.started {
		c.w.WriteString(utf8BOM)
		c.started = true
	}
	return c.c.Write(vals)
}

func (c *csvFile) Header(cols []Column) error { return c.row(names(cols)) }

func (c *csvFile) Write(cols []Column, r Record) error { return c.row(values(cols, r, "; ")) }

func (c *csvFile) Flush() error {
	c.c.Flush()
	if err := c.c.Error(); err != nil {
		return err
	}
	return c.w.Flush()
}

// jsonlFile writes one JSON object per record, keys in column order:
// lists for multi-valued fields, strings for the others.
type jsonlFile struct{ w *bufio.Writer }

func (j *jsonlFile) Header([]Column) error { return nil }

func (j *jsonlFile) Write(cols []Column, r Record) error {
	j.w.WriteByte('{')
	for i, c := range cols {
		if i > 0 {
			j.w.WriteByte(',')
		}
		writeJSON(j.w, c.Name)
		j.w.WriteByte(':')
		if multiValued[c.Field] {
			vs := r[c.Field]
			if vs == nil {
				vs = []string{}
			}
			writeJSON(j.w, vs)
		} else {
			writeJSON(j.w, r.first(c.Field))
		}
	}
	_, err := j.w.WriteString("}\n")
	return err
}

func (j *jsonlFile) Flush() error { return j.w.Flush() }

// writeJSON writes v without escaping <, > and &, which addresses and
// subjects hold often.
func writeJSON(w *bufio.Writer, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // strings and string lists always encode
	}
	w.Write(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}
