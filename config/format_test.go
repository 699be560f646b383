package config

import (
	"testing"
)

func TestFormat(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"window",
			"window \"w\" {\nstart=\"2024-01-01\"\n  date =   \"sent\"\n}\n",
			"window \"w\" {\n  start = \"2024-01-01\"\n  date  = \"sent\"\n}\n"},
		{"backend",
			"backend \"azurerm\" {\nstorage_account=\"acct\"\n    container = \"box\"\n prefix=\"a/b\"\n}\n",
			"backend \"azurerm\" {\n  storage_account = \"acct\"\n  container       = \"box\"\n  prefix          = \"a/b\"\n}\n"},
	}
	for _, c := range cases {
		got, diags := Format([]byte(c.in), "m.collect.hcl")
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		if string(got) != c.want {
			t.Errorf("%s: Format:\n%s\nwant:\n%s", c.name, got, c.want)
		}
		again, _ := Format(got, "m.collect.hcl")
		if string(again) != string(got) {
			t.Errorf("%s: formatting is not idempotent", c.name)
		}
	}
	if _, diags := Format([]byte("window \"w\" {\n"), "bad.collect.hcl"); !diags.HasErrors() {
		t.Error("a file that does not parse must be refused")
	}
}
