package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/collect-ediscovery/collect/config"
	"github.com/collect-ediscovery/collect/export"
)

const exportHelp = `Usage: collect [global options] export [options]

  Writes the next production volume of the matter: a load file with one
  record per collected message and one per attachment, the natives and
  the extracted attachments, and an export record, in
  <output>/exports/VOL0001 (then VOL0002, ...). Reads the state and the
  output folder, never Microsoft Graph. Control numbers (DOCID) are kept
  in the state: a message exported again keeps its number, and a later
  volume continues the sequence. The matter's export block sets the
  prefix, the dedupe scope, the profile and field names.

Options:
  -format=dat|csv|jsonl   Load file format (default: the matter's, else dat).
  -profile=NAME           Field names and dates: relativity, doj or reveal
                          (default: the matter's, else relativity).
  -run=RUN                Only what run RUN collected.
  -since=RUN              Only what runs after RUN collected.
  -out=DIR                Folder of the volumes (default: <output>/exports).
  -json                   Print the result as JSON.
  -var 'name=value'       Set a variable. Repeatable.
  -var-file=FILE          Set variables from a file.
  -shard=I/N              With a backend: work on shard I of N only (default:
                          COLLECT_SHARD, or JOB_COMPLETION_INDEX and COLLECT_SHARDS).
  -backend-config=K=V     Override a backend block argument. Repeatable.
  -lock-timeout=D         Wait up to D for the state lock (default 0: fail at once).

Exit status: 0 when a volume was written or there was nothing to export,
1 on error, 5 when the state is locked.
`

func runExport(s *streams, args []string) int {
	opts, diags := ParseExport(args)
	v := newExportView(s, opts.JSON)
	if diags.HasErrors() {
		s.writeDiags(diags, nil)
		v.Failed()
		return exitError
	}
	m := loadMatterToRead(s, opts.Vars)
	if m == nil {
		v.Failed()
		return exitError
	}
	db, code := openState(s, m, false, opts.LockTimeout, "export")
	if db == nil {
		v.Failed()
		return code
	}
	defer db.Close()
	out := opts.Out
	if out != "" {
		if abs, err := filepath.Abs(out); err == nil {
			out = abs
		}
	}
	if s.remote != nil {
		// The working folder is scratch: a production goes where it is asked.
		if out == "" {
			s.errorf("Export needs -out", "The collection is kept in %s; its working folder is made anew by every command. "+
				"Name the folder the production goes to with -out=DIR.", s.remote.describe())
			v.Failed()
			return exitError
		}
		if err := pullNatives(s, db); err != nil {
			s.errorf("Cannot read the natives", "%s", sentence(err.Error()))
			v.Failed()
			return exitError
		}
		m.Export.Prefix = shardPrefix(m.Export.Prefix, s.remote.shard)
	}
	ctx, stop := interruptible(s, "Stopping: the volume being written is discarded; its control numbers are kept.")
	defer stop()
	res, err := export.Export(ctx, m, db, export.Options{
		Format: opts.Format, Profile: opts.Profile, Run: opts.Run, Since: opts.Since, Out: out,
		ToolVersion: toolVersion(),
	})
	if errors.Is(err, export.ErrNothingToExport) {
		v.Result(exportReport{Runs: []string{}}, m.Output.Path)
		return exitOK
	}
	if err != nil {
		s.errorf("Export failed", "%s", sentence(err.Error()))
		v.Failed()
		return exitError
	}
	v.Result(reportOfExport(res), m.Output.Path)
	return exitOK
}

type exportReport struct {
	Written        bool     `json:"written"`
	Volume         string   `json:"volume,omitempty"`
	Dir            string   `json:"dir,omitempty"`
	LoadFile       string   `json:"load_file,omitempty"`
	LoadFileSHA256 string   `json:"load_file_sha256,omitempty"`
	Messages       int      `json:"messages"`
	Records        int      `json:"records"`
	Attachments    int      `json:"attachments"`
	Duplicates     int      `json:"duplicates"`
	WithErrors     int      `json:"with_parse_errors"`
	FirstDOCID     string   `json:"first_docid,omitempty"`
	LastDOCID      string   `json:"last_docid,omitempty"`
	Runs           []string `json:"runs"`
}

// reportOfExport is what export wrote, as export -json reports it.
func reportOfExport(res *export.Result) exportReport {
	v := res.Volume
	rep := exportReport{Written: true, Volume: v.Name, Dir: res.Dir, LoadFile: v.LoadFile, LoadFileSHA256: v.LoadFileSHA256,
		Messages: v.Messages, Records: v.Records, Attachments: res.Attachments, Duplicates: res.Duplicates,
		WithErrors: res.WithErrors, FirstDOCID: v.FirstDOCID, LastDOCID: v.LastDOCID, Runs: nonNil(v.Runs)}
	return rep
}

// shardPrefix is the control number prefix of a shard's production. Each
// shard numbers its documents in its own state, so shards of one
// collection would give the same numbers: the shard's number after the
// matter's prefix keeps every DOCID of the matter unique (ACME-S2-00000001
// for shard 2 of 4). A collection of one shard keeps the prefix as it is.
func shardPrefix(prefix string, sh config.Shard) string {
	if sh.Count <= 1 {
		return prefix
	}
	return fmt.Sprintf("%s-S%0*d-", prefix, len(fmt.Sprint(sh.Count)), sh.Index)
}
