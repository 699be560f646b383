package config

import (
	"testing"
)

func TestFormat(t *testing.T) {
	in := "window \"w\" {\nstart=\"2024-01-01\"\n  date =   \"sent\"\n}\n"
	want := "window \"w\" {\n  start = \"2024-01-01\"\n  date  = \"sent\"\n}\n"
	got, diags := Format([]byte(in), "m.collect.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if string(got) != want {
		t.Errorf("Format:\n%s\nwant:\n%s", got, want)
	}
	again, _ := Format(got, "m.collect.hcl")
	if string(again) != string(got) {
		t.Error("formatting is not idempotent")
	}
	if _, diags := Format([]byte("window \"w\" {\n"), "bad.collect.hcl"); !diags.HasErrors() {
		t.Error("a file that does not parse must be refused")
	}
}
