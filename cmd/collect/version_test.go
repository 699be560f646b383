package main

import (
	"runtime/debug"
	"testing"
)

func TestBuildVersion(t *testing.T) {
	vcs := func(rev, modified string) *debug.BuildInfo {
		bi := &debug.BuildInfo{Main: debug.Module{Path: "github.com/collect-ediscovery/collect", Version: "(devel)"}}
		if rev != "" {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: "vcs.revision", Value: rev})
		}
		if modified != "" {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: "vcs.modified", Value: modified})
		}
		return bi
	}
	module := &debug.BuildInfo{Main: debug.Module{Version: "v0.3.1"}}
	pseudo := func(v, modified string) *debug.BuildInfo {
		bi := vcs("9158053097b64f15ff85e4fe603c9c8eeb8b2d6a", modified)
		bi.Main.Version = v
		return bi
	}
	cases := []struct {
		name     string
		release  string
		bi       *debug.BuildInfo
		want     string
		revision string
		modified bool
	}{
		{"no build information", "", nil, "dev", "", false},
		{"development build, clean tree", "", vcs("abc1234def5678", "false"), "dev (abc1234)", "abc1234def5678", false},
		{"development build, changed tree", "", vcs("abc1234def5678", "true"), "dev (abc1234, modified)", "abc1234def5678", true},
		{"development build without VCS", "", vcs("", ""), "dev", "", false},
		{"release set at link time", "v1.2.3", vcs("abc1234def5678", "true"), "v1.2.3", "abc1234def5678", true},
		{"module version", "", module, "v0.3.1", "", false},
		{"untagged commit", "", pseudo("v0.0.0-20261201160636-9158053097b6", "false"), "dev (9158053)", "9158053097b64f15ff85e4fe603c9c8eeb8b2d6a", false},
		{"untagged commit, changed tree", "", pseudo("v0.0.0-20261201160636-9158053097b6+dirty", "true"), "dev (9158053, modified)", "9158053097b64f15ff85e4fe603c9c8eeb8b2d6a", true},
		{"tagged commit", "", pseudo("v1.4.0", "false"), "v1.4.0", "9158053097b64f15ff85e4fe603c9c8eeb8b2d6a", false},
	}
	for _, tc := range cases {
		b := buildOf(tc.release, tc.bi)
		if got := b.String(); got != tc.want || b.VCSRevision != tc.revision || b.VCSModified != tc.modified {
			t.Errorf("%s: %q (%+v), want %q with revision %q, modified %v", tc.name, got, b, tc.want, tc.revision, tc.modified)
		}
	}
}
