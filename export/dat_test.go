package export

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// readDAT is a Concordance DAT reader written from the format's rules, not
// from the writer: UTF-8 with a BOM, records ending in CRLF, every field
// between þ quotes, fields separated by 0x14. It fails the test on any
// byte that breaks a rule.
func readDAT(t *testing.T, data []byte) [][]string {
	t.Helper()
	const bom, quote, sep = "\xef\xbb\xbf", "\u00fe", "\x14"
	if !bytes.HasPrefix(data, []byte(bom)) {
		t.Fatal("the DAT does not start with a UTF-8 byte order mark")
	}
	if !utf8.Valid(data) {
		t.Fatal("the DAT is not valid UTF-8")
	}
	s := string(data[len(bom):])
	if !strings.HasSuffix(s, "\r\n") {
		t.Fatal("the DAT does not end with CRLF")
	}
	var rows [][]string
	for n, line := range strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n") {
		if strings.ContainsAny(line, "\r\n") {
			t.Fatalf("row %d holds a bare CR or LF: line breaks in a value must be ®", n+1)
		}
		var row []string
		for i, field := range strings.Split(line, sep) {
			if len(field) < 2*len(quote) || !strings.HasPrefix(field, quote) || !strings.HasSuffix(field, quote) {
				t.Fatalf("row %d field %d is not between þ quotes: %q", n+1, i+1, field)
			}
			v := field[len(quote) : len(field)-len(quote)]
			if strings.Contains(v, quote) {
				t.Fatalf("row %d field %d holds a þ inside its value: %q", n+1, i+1, v)
			}
			row = append(row, v)
		}
		if len(rows) > 0 && len(row) != len(rows[0]) {
			t.Fatalf("row %d has %d fields, the header %d", n+1, len(row), len(rows[0]))
		}
		rows = append(rows, row)
	}
	return rows
}

// TestDATDelimiters writes records whose values hold every delimiter and
// reads them back with readDAT: þ becomes Þ, line breaks become ®, 0x14
// becomes a space, ¶ and commas stay, multi-values are split by ; and an
// entry's own ; becomes a comma.
func TestDATDelimiters(t *testing.T) {
	cols := []Column{{"DOCID", "DOCID"}, {"SUBJECT", "SUBJECT"}, {"TO", "TO"}, {"FILE_NAME", "FILE NAME ¶"}}
	cases := []struct {
		subject  string
		to       []string
		file     string
		wantSubj string
		wantTo   string
		wantFile string
	}{
		{"plain", []string{"a@x.invalid"}, "a.pdf", "plain", "a@x.invalid", "a.pdf"},
		{"þorn þ", nil, "þ.txt", "Þorn Þ", "", "Þ.txt"},
		{"pilcrow ¶ stays", []string{"Doe, Jane <j@x.invalid>", "b@x.invalid"}, "a,b.csv",
			"pilcrow ¶ stays", "Doe, Jane <j@x.invalid>;b@x.invalid", "a,b.csv"},
		{"two\r\nlines\nand\rthree", []string{"Smith; John <s@x.invalid>"}, "x",
			"two®lines®and®three", "Smith, John <s@x.invalid>", "x"},
		{"column\x14delimiter", []string{"þ <t@x.invalid>"}, "\"quoted\"", "column delimiter", "Þ <t@x.invalid>", "\"quoted\""},
		{"", nil, "", "", "", ""},
	}
	var buf bytes.Buffer
	w, err := NewLoadFile("dat", &buf)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Header(cols); err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		r := Record{"TO": c.to}
		r.set("DOCID", "D"+string(rune('0'+i)))
		r.set("SUBJECT", c.subject)
		r.set("FILE_NAME", c.file)
		if err := w.Write(cols, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	rows := readDAT(t, buf.Bytes())
	if want := []string{"DOCID", "SUBJECT", "TO", "FILE NAME ¶"}; !slices.Equal(rows[0], want) {
		t.Errorf("header = %q, want %q", rows[0], want)
	}
	if len(rows) != len(cases)+1 {
		t.Fatalf("%d rows, want %d", len(rows), len(cases)+1)
	}
	for i, c := range cases {
		got := rows[i+1]
		if got[1] != c.wantSubj || got[2] != c.wantTo || got[3] != c.wantFile {
			t.Errorf("case %d: read %q, want subject %q, to %q, file %q", i, got, c.wantSubj, c.wantTo, c.wantFile)
		}
		if len(c.to) > 0 && len(strings.Split(got[2], ";")) != len(c.to) {
			t.Errorf("case %d: TO splits into %d values, want %d", i, len(strings.Split(got[2], ";")), len(c.to))
		}
	}
}

// TestGoldenDATReadsBack reads the golden DAT of each profile with
// readDAT and checks it against the JSON lines golden of the same
// profile, field by field, by the delimiter rules: the three formats say
// the same thing.
func TestGoldenDATReadsBack(t *testing.T) {
	for _, profile := range []string{"relativity", "doj", "reveal"} {
		t.Run(profile, func(t *testing.T) {
			dat, err := os.ReadFile(filepath.Join("testdata", "golden", profile+".dat"))
			if err != nil {
				t.Fatal(err)
			}
			rows := readDAT(t, dat)
			lines, err := os.ReadFile(filepath.Join("testdata", "golden", profile+".jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			csvData, err := os.ReadFile(filepath.Join("testdata", "golden", profile+".csv"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(csvData, []byte("\xef\xbb\xbf")) {
				t.Fatal("the CSV does not start with a byte order mark")
			}
			cr := csv.NewReader(bytes.NewReader(csvData[3:]))
			csvRows, err := cr.ReadAll()
			if err != nil {
				t.Fatalf("the CSV is not RFC 4180: %v", err)
			}
			jsonRows := bytes.Split(bytes.TrimSuffix(lines, []byte("\n")), []byte("\n"))
			if len(jsonRows) != len(rows)-1 || len(csvRows) != len(rows) {
				t.Fatalf("%d DAT rows, %d CSV rows, %d JSON lines", len(rows), len(csvRows), len(jsonRows))
			}
			header := rows[0]
			if !slices.Equal(header, csvRows[0]) {
				t.Fatalf("DAT header %q, CSV header %q", header, csvRows[0])
			}
			sawThorn, sawNewline := false, false
			for i, line := range jsonRows {
				var obj map[string]any
				if err := json.Unmarshal(line, &obj); err != nil {
					t.Fatalf("JSON line %d: %v", i+1, err)
				}
				for j, name := range header {
					var want, wantCSV string
					switch v := obj[name].(type) {
					case string:
						want, wantCSV = v, v
					case []any:
						var parts []string
						for _, p := range v {
							parts = append(parts, strings.ReplaceAll(p.(string), ";", ","))
						}
						want, wantCSV = strings.Join(parts, ";"), strings.Join(parts, "; ")
					default:
						t.Fatalf("JSON line %d: field %s is %T", i+1, name, v)
					}
					sawThorn = sawThorn || strings.Contains(want, "þ")
					sawNewline = sawNewline || strings.Contains(want, "\n")
					want = strings.NewReplacer("þ", "Þ", "\r\n", "®", "\n", "®", "\r", "®", "\x14", " ").Replace(want)
					if got := rows[i+1][j]; got != want {
						t.Errorf("record %d %s: DAT %q, JSON %q", i+1, name, got, want)
					}
					if got := strings.ReplaceAll(csvRows[i+1][j], "\r\n", "\n"); got != strings.ReplaceAll(wantCSV, "\r\n", "\n") {
						t.Errorf("record %d %s: CSV %q, JSON %q", i+1, name, got, wantCSV)
					}
				}
			}
			if !sawThorn || !sawNewline {
				t.Errorf("the golden collection lost its hard values (þ: %v, newline: %v)", sawThorn, sawNewline)
			}
		})
	}
}
