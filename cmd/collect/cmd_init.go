package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/collect-ediscovery/collect/config"
	"github.com/collect-ediscovery/collect/state"
)

const initHelp = `Usage: collect [global options] init

  Prepares the matter folder: creates the state file, and in a folder with
  no matter files yet, writes a commented starter matter (matter.collect.hcl)
  to edit. Running it again changes nothing.
`

const starterMatter = `# A matter: what to collect, from whom, for which period.
# Edit this file, then run:  collect validate  and  collect plan
# The language is described in docs/matter-language.md of collect.

matter "new-matter" {
  description = "Caption of the case, docket number"
  time_zone   = "UTC" # IANA name; plain dates below are midnight in this zone
}

tenant {
  # Try collect first on the built-in demo tenant, with simulated mail:
  cloud = "demo"

  # For a Microsoft 365 tenant, replace the line above with:
  # tenant_id = "contoso.onmicrosoft.com"
  # client_id = "00000000-0000-0000-0000-000000000000"
  # auth      = "client_secret" # the secret comes from COLLECT_CLIENT_SECRET
}

window "relevant" {
  start = "2024-01-01"
  end   = "2024-07-01" # exclusive; leave out for "up to now"
}

custodian "jdoe" {
  name    = "Jane Doe"
  email   = "jane.doe@demo.collect.invalid"
  windows = [window.relevant]
}
`

func runInit(s *streams, args []string) int {
	if len(args) > 0 {
		s.writeDiags(tooManyArgs("init", args, "Use -chdir=DIR to prepare another folder."), nil)
		return exitError
	}
	entries, err := filepath.Glob("*" + config.FileSuffix)
	if err != nil {
		s.errorf("Cannot read the folder", "%v.", err)
		return exitError
	}
	if len(entries) == 0 {
		if err := os.WriteFile("matter"+config.FileSuffix, []byte(starterMatter), 0o644); err != nil {
			s.errorf("Cannot write the starter matter", "%v.", err)
			return exitError
		}
		fmt.Fprintln(s.stdout, "Wrote a starter matter to matter.collect.hcl: edit it, then run collect validate.")
	}
	m := loadMatter(s, nil)
	if m == nil {
		return exitError
	}
	_, statErr := os.Stat(m.State.Path)
	db, code := openState(s, m, false, 0, "init")
	if db == nil {
		return code
	}
	defer db.Close()
	var meta state.Meta
	db.View(func(r *state.ReadTx) error { meta = r.Meta(); return nil })
	if os.IsNotExist(statErr) {
		fmt.Fprintf(s.stdout, "Created the state file %s (lineage %s).\n", rel(m.State.Path), meta.Lineage)
	} else {
		fmt.Fprintf(s.stdout, "The state file %s already exists (lineage %s, serial %d); it was not changed.\n", rel(m.State.Path), meta.Lineage, meta.Serial)
	}
	return exitOK
}

// rel shows a path relative to the working folder when it is below it.
func rel(path string) string {
	wd, err := os.Getwd()
	if err != nil {
		return path
	}
	if r, err := filepath.Rel(wd, path); err == nil && !filepath.IsAbs(r) && r != ".." && !hasDotDot(r) {
		return r
	}
	return path
}

func hasDotDot(p string) bool {
	return len(p) >= 2 && p[:2] == ".."
}
