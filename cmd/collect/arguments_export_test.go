package main

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/config"
)

func TestParseExport(t *testing.T) {
	cases := []struct {
		args    []string
		want    Export
		wantErr string
	}{
		{nil, Export{}, ""},
		{[]string{"-format=csv", "-profile=doj", "-since=r1", "-out=prod", "-json"},
			Export{Format: "csv", Profile: "doj", Since: "r1", Out: "prod", JSON: true}, ""},
		{[]string{"-run", "r2", "-format", "jsonl", "-lock-timeout=5s", "-var", "a=1"},
			Export{Run: "r2", Format: "jsonl", LockTimeout: 5 * time.Second, Vars: []config.VarOption{{Assignment: "a=1"}}}, ""},
		{[]string{"-format=xml"}, Export{}, "must be one of dat, csv, jsonl"},
		{[]string{"-format=dta"}, Export{}, "Did you mean -format=dat?"},
		{[]string{"-profile=relativty"}, Export{}, "Did you mean -profile=relativity?"},
		{[]string{"-run=a", "-since=b"}, Export{}, "choose one"},
		{[]string{"-since="}, Export{}, "needs a run ID"},
		{[]string{"-out="}, Export{}, "needs a folder"},
		{[]string{"-formt=csv"}, Export{}, "Did you mean -format?"},
		{[]string{"VOL0001"}, Export{}, "takes no arguments"},
		{[]string{"-lock-timeout=-1s"}, Export{}, "must not be negative"},
	}
	for _, c := range cases {
		got, diags := ParseExport(c.args)
		if c.wantErr != "" {
			if !strings.Contains(diagText(diags), c.wantErr) {
				t.Errorf("ParseExport(%q): diagnostics %q, want %q", c.args, diagText(diags), c.wantErr)
			}
			continue
		}
		if diags.HasErrors() {
			t.Errorf("ParseExport(%q): %s", c.args, diagText(diags))
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseExport(%q) = %+v, want %+v", c.args, got, c.want)
		}
	}
}
