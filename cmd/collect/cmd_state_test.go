package main

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/config"
)

func TestParseStateRebuild(t *testing.T) {
	cases := []struct {
		args    []string
		want    StateRebuild
		wantErr string
	}{
		{nil, StateRebuild{}, ""},
		{[]string{"-force"}, StateRebuild{Force: true}, ""},
		{[]string{"-var", "a=b", "-force"}, StateRebuild{Force: true, Vars: []config.VarOption{{Assignment: "a=b"}}}, ""},
		{[]string{"custodian.jdoe"}, StateRebuild{}, "takes no address"},
		{[]string{"-forse"}, StateRebuild{}, "-force"},
		{[]string{"-lock-timeout=30s"}, StateRebuild{LockTimeout: 30 * time.Second}, ""},
		{[]string{"-lock-timeout=-1s"}, StateRebuild{}, "must not be negative"},
	}
	for _, c := range cases {
		got, diags := ParseStateRebuild(c.args)
		if c.wantErr != "" {
			if !strings.Contains(diagText(diags), c.wantErr) {
				t.Errorf("ParseStateRebuild(%q): diagnostics %q, want %q", c.args, diagText(diags), c.wantErr)
			}
			continue
		}
		if diags.HasErrors() || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseStateRebuild(%q) = %+v, %q; want %+v", c.args, got, diagText(diags), c.want)
		}
	}
}
