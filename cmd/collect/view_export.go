package main

import (
	"fmt"
	"path/filepath"

	"github.com/collect-ediscovery/collect/internal/jsondoc"
)

// exportView shows what export wrote. Result is called once, with a
// report that has Written false when there was nothing to export; Failed
// when it could not run (the diagnostics say why).
type exportView interface {
	Result(rep exportReport, outputDir string)
	Failed()
}

func newExportView(s *streams, asJSON bool) exportView {
	if asJSON {
		return &exportJSON{s: s, diags: s.collectJSONDiags()}
	}
	return exportHuman{s}
}

type exportHuman struct{ s *streams }

func (exportHuman) Failed() {}

func (v exportHuman) Result(rep exportReport, outputDir string) {
	w := v.s.stdout
	if !rep.Written {
		fmt.Fprintln(w, "Nothing to export: the selection holds no collected message.")
		return
	}
	dir := rep.Dir
	if rel, err := filepath.Rel(filepath.Dir(outputDir), dir); err == nil {
		dir = rel
	}
	fmt.Fprintf(w, "Export complete! %s written to %s: %s, %s (%s, %s, %s).\n",
		rep.Volume, filepath.ToSlash(dir), plural(rep.Messages, "message", "messages"), plural(rep.Records, "record", "records"),
		plural(rep.Attachments, "attachment", "attachments"), plural(rep.Duplicates, "duplicate", "duplicates"),
		plural(rep.WithErrors, "with parse errors", "with parse errors"))
	fmt.Fprintf(w, "Control numbers %s to %s. Load file %s, SHA-256 %s.\n", rep.FirstDOCID, rep.LastDOCID, rep.LoadFile, rep.LoadFileSHA256)
}

// exportDoc is collect export -json.
type exportDoc struct {
	exportReport
	Diagnostics []jsonDiagnostic `json:"diagnostics"`
}

type exportJSON struct {
	s     *streams
	diags *[]jsonDiagnostic
}

func (v *exportJSON) Result(rep exportReport, _ string) {
	jsondoc.Write(v.s.stdout, exportDoc{exportReport: rep, Diagnostics: *v.diags})
}

func (v *exportJSON) Failed() { v.Result(exportReport{Runs: []string{}}, "") }
