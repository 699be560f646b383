package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/collect-ediscovery/collect/config"
	"github.com/hashicorp/hcl/v2"
)

func diagText(diags hcl.Diagnostics) string {
	var parts []string
	for _, d := range diags {
		parts = append(parts, d.Summary+": "+d.Detail)
	}
	return strings.Join(parts, "; ")
}

func TestParseGlobal(t *testing.T) {
	cases := []struct {
		args    []string
		want    Global
		wantErr string
	}{
		{[]string{"validate"}, Global{Command: "validate", Args: []string{}}, ""},
		{[]string{"-chdir=m", "validate", "-json"}, Global{Chdir: "m", Command: "validate", Args: []string{"-json"}}, ""},
		{[]string{"-chdir", "m", "fmt", "x"}, Global{Chdir: "m", Command: "fmt", Args: []string{"x"}}, ""},
		{[]string{"-version"}, Global{Version: true}, ""},
		{[]string{"-help"}, Global{Help: true}, ""},
		{[]string{"-help", "fmt"}, Global{Help: true, Command: "fmt"}, ""},
		{[]string{"-chdir="}, Global{}, "Invalid -chdir option"},
		{[]string{"-chdri=x", "validate"}, Global{}, "Did you mean -chdir?"},
	}
	for _, c := range cases {
		got, diags := ParseGlobal(c.args)
		if c.wantErr != "" {
			if !strings.Contains(diagText(diags), c.wantErr) {
				t.Errorf("ParseGlobal(%q): diagnostics %q, want %q", c.args, diagText(diags), c.wantErr)
			}
			continue
		}
		if diags.HasErrors() {
			t.Errorf("ParseGlobal(%q): %s", c.args, diagText(diags))
			continue
		}
		if got.Args == nil {
			got.Args = []string{}
		}
		if c.want.Args == nil {
			c.want.Args = []string{}
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseGlobal(%q) = %+v, want %+v", c.args, got, c.want)
		}
	}
}

func TestParseValidate(t *testing.T) {
	cases := []struct {
		args    []string
		want    Validate
		wantErr string
	}{
		{nil, Validate{}, ""},
		{[]string{"-json"}, Validate{JSON: true}, ""},
		{[]string{"-no-color"}, Validate{NoColor: true}, ""},
		{[]string{"-var", "a=1", "-var-file=f.hcl", "-var=b=x=y"}, Validate{Vars: []config.VarOption{
			{Assignment: "a=1"}, {File: "f.hcl"}, {Assignment: "b=x=y"}}}, ""},
		{[]string{"-var", "a"}, Validate{}, "not name=value"},
		{[]string{"-jsn"}, Validate{}, "Did you mean -json?"},
		{[]string{"dir"}, Validate{}, "Use -chdir=DIR"},
		{[]string{"dir", "-json"}, Validate{}, "Options must come before arguments"},
		{[]string{"-h"}, Validate{}, helpSummary},
	}
	for _, c := range cases {
		got, diags := ParseValidate(c.args)
		if c.wantErr != "" {
			if !strings.Contains(diagText(diags), c.wantErr) {
				t.Errorf("ParseValidate(%q): diagnostics %q, want %q", c.args, diagText(diags), c.wantErr)
			}
			continue
		}
		if diags.HasErrors() {
			t.Errorf("ParseValidate(%q): %s", c.args, diagText(diags))
		} else if !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseValidate(%q) = %+v, want %+v", c.args, got, c.want)
		}
	}
}

func TestParseFmt(t *testing.T) {
	cases := []struct {
		args    []string
		want    Fmt
		wantErr string
	}{
		{nil, Fmt{Write: true, List: true}, ""},
		{[]string{"-check"}, Fmt{Check: true, Write: false, List: true}, ""},
		{[]string{"-check", "-write=true"}, Fmt{Check: true, Write: false, List: true}, ""},
		{[]string{"-diff", "-write=false", "-list=false"}, Fmt{Diff: true}, ""},
		{[]string{"-recursive", "a", "b"}, Fmt{Recursive: true, Write: true, List: true, Targets: []string{"a", "b"}}, ""},
		{[]string{"-", "a"}, Fmt{}, "Standard input (-) cannot be formatted together with files"},
		{[]string{"-write=maybe"}, Fmt{}, "Invalid option"},
	}
	for _, c := range cases {
		got, diags := ParseFmt(c.args)
		if c.wantErr != "" {
			if !strings.Contains(diagText(diags), c.wantErr) {
				t.Errorf("ParseFmt(%q): diagnostics %q, want %q", c.args, diagText(diags), c.wantErr)
			}
			continue
		}
		if got.Targets == nil {
			got.Targets = []string{}
		}
		if c.want.Targets == nil {
			c.want.Targets = []string{}
		}
		if diags.HasErrors() {
			t.Errorf("ParseFmt(%q): %s", c.args, diagText(diags))
		} else if !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseFmt(%q) = %+v, want %+v", c.args, got, c.want)
		}
	}
}

func TestParseVersion(t *testing.T) {
	if v, diags := ParseVersion([]string{"-json"}); diags.HasErrors() || !v.JSON {
		t.Errorf("ParseVersion(-json) = %+v, %s", v, diagText(diags))
	}
	if _, diags := ParseVersion([]string{"x"}); !diags.HasErrors() {
		t.Error("version takes no arguments")
	}
}

func TestCommas(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1234: "-1,234"} {
		if got := commas(n); got != want {
			t.Errorf("commas(%d) = %q, want %q", n, got, want)
		}
	}
}
