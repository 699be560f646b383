package main

import (
	"fmt"

	"github.com/collect-ediscovery/collect/internal/jsondoc"
)

// versionDoc is collect version -json; its format_version is the one of
// every JSON document and plan file collect writes.
type versionDoc struct {
	Collect     string `json:"collect"`
	VCSRevision string `json:"vcs_revision,omitempty"`
	VCSModified bool   `json:"vcs_modified,omitempty"`
	Go          string `json:"go"`
	Platform    string `json:"platform"`
}

type versionView interface{ Version(versionDoc) }

func newVersionView(s *streams, asJSON bool) versionView {
	if asJSON {
		s.collectJSONDiags()
		return versionJSON{s}
	}
	return versionHuman{s}
}

type versionHuman struct{ s *streams }

func (v versionHuman) Version(d versionDoc) {
	fmt.Fprintf(v.s.stdout, "collect %s\n", d.Collect)
	fmt.Fprintf(v.s.stdout, "built with %s for %s\n", d.Go, d.Platform)
	fmt.Fprintf(v.s.stdout, "JSON output and plan file format %s\n", jsondoc.FormatVersion)
}

type versionJSON struct{ s *streams }

func (v versionJSON) Version(d versionDoc) { jsondoc.Write(v.s.stdout, d) }
