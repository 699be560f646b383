package config

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestExportBlock reads an export block into the matter, and fills in
// the defaults when there is none.
func TestExportBlock(t *testing.T) {
	base := "matter \"m\" {}\ntenant {\n  cloud = \"demo\"\n}\n"
	cases := []struct {
		name, src string
		want      Export
	}{
		{"defaults", "", Export{Prefix: "DOC", Digits: 8, Dedupe: "global", Profile: "relativity", Format: "dat"}},
		{"all", `export {
  prefix  = "ACME-PROD"
  digits  = 6
  dedupe  = "custodian"
  profile = "doj"
  format  = "csv"
  drop    = ["BCC", "GRAPH_ID"]
  rename  = { SUBJECT = "EMAIL_SUBJECT", DOCID = "BEGBATES" }
}
`, Export{Prefix: "ACME-PROD", Digits: 6, Dedupe: "custodian", Profile: "doj", Format: "csv",
			Drop: []string{"BCC", "GRAPH_ID"}, Rename: map[string]string{"SUBJECT": "EMAIL_SUBJECT", "DOCID": "BEGBATES"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "m.collect.hcl"), []byte(base+c.src), 0o600); err != nil {
				t.Fatal(err)
			}
			m, _, diags := Load(dir, LoadOptions{})
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			got := m.Export
			got.DeclRange = c.want.DeclRange
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("export = %+v\nwant     %+v", got, c.want)
			}
		})
	}
}
