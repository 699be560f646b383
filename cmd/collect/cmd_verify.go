package main

import (
	"context"

	"github.com/collect-ediscovery/collect/apply"
	"github.com/collect-ediscovery/collect/config"
	"github.com/collect-ediscovery/collect/state"
	"github.com/collect-ediscovery/collect/store"
)

const verifyHelp = `Usage: collect [global options] verify [options]

  Re-hashes every native in the output folder and checks it against the
  state and the manifest. Reports natives that are missing, changed or
  unexpected, and manifest lines that disagree with the state. Reads only.

  It also checks the custody log (docs/custody.md): every manifest line is
  included in the latest checkpoint, each checkpoint is a consistent
  extension of the one before, and every signature verifies with the
  matter's verifier key.

Options:
  -json              Print the report as JSON.
  -custody           Check only the custody log and the natives against the
                     manifest, offline, without the state.
  -output=DIR        With -custody: the output folder to check, without the
                     matter (a verifier needs only the folder and the key).
  -verifier=KEY      The public key the checkpoints must be signed with
                     (default: the matter's custody block).
  -checkpoint=FILE   A checkpoint kept outside the output folder (handed over
                     after an earlier run) that the log must extend. Repeatable.
  -var 'name=value'  Set a variable. Repeatable.
  -var-file=FILE     Set variables from a file.
  -shard=I/N         With a backend: only shard I of N (default: every shard).
  -backend-config=K=V
                     Override a backend block argument. Repeatable.
  -lock-timeout=D    Wait up to D for the state lock (default 0: fail at once).

Exit status: 0 when everything verifies, 7 when something does not, 1 on error.
`

type verifyReport struct {
	OK            bool     `json:"ok"`
	Items         int      `json:"items"`
	Natives       int      `json:"natives"`
	Verified      int      `json:"verified"`
	Bytes         int64    `json:"bytes"`
	Missing       []string `json:"missing"`
	Changed       []string `json:"changed"`
	Unexpected    []string `json:"unexpected"`
	LeftoverTemps []string `json:"leftover_temps"`
	Manifest      []string `json:"manifest"`
	State         []string `json:"state"`
	// Set when an apply was running: what it did after its snapshot.
	ApplyRunning bool     `json:"apply_running,omitempty"`
	NewerLines   int      `json:"newer_lines,omitempty"`
	PendingLines int      `json:"pending_lines,omitempty"`
	Unrecorded   []string `json:"unrecorded,omitempty"`
	InFlight     int      `json:"in_flight,omitempty"`
	// Custody is the check of the custody log; CustodyOnly says that the
	// natives were checked against the manifest alone (verify -custody).
	Custody     *custodyReport `json:"custody,omitempty"`
	CustodyOnly bool           `json:"custody_only,omitempty"`
	// Shards names the shards of a backend's collection that were
	// verified, when it has more than one.
	Shards []string `json:"shards,omitempty"`
}

func runVerify(s *streams, args []string) int {
	opts, diags := ParseVerify(args)
	v := newVerifyView(s, opts.JSON)
	if diags.HasErrors() {
		s.writeDiags(diags, nil)
		v.Failed()
		return exitError
	}
	if opts.Custody {
		return runVerifyCustody(s, opts, v)
	}
	m := loadMatterToRead(s, opts.Vars)
	if m == nil {
		v.Failed()
		return exitError
	}
	var out verifyReport
	code := eachShard(s, m, func(sh config.Shard, count int, one *config.Matter) int {
		rep, code := verifyCollection(s, one, opts)
		switch {
		case code != exitOK:
		case count == 1:
			out = rep
		default:
			if sh.Index == 1 {
				out = verifyReport{OK: true, Missing: []string{}, Changed: []string{}, Unexpected: []string{},
					LeftoverTemps: []string{}, Manifest: []string{}, State: []string{}}
			}
			rep.Shards = []string{sh.String()}
			out.merge(rep, sh)
		}
		return code
	})
	if code != exitOK {
		v.Failed()
		return code
	}
	v.Report(out)
	if !out.OK {
		return exitVerify
	}
	return exitOK
}

// verifyCollection verifies one collection: the matter's, or one shard of
// its backend.
func verifyCollection(s *streams, m *config.Matter, opts Verify) (verifyReport, int) {
	db, code := readCollectionOf(s, m, opts.LockTimeout, "verify")
	if db == nil {
		return verifyReport{}, code
	}
	defer db.Close()
	if err := pullNatives(s, db); err != nil {
		s.errorf("Cannot read the natives", "%s", sentence(err.Error()))
		return verifyReport{}, exitError
	}
	var rep store.Report
	err := db.View(func(r *state.ReadTx) error {
		var iterErr error
		var err error
		rep, err = store.Verify(context.Background(), m.Output.Path, apply.Expected(r, &iterErr), store.VerifyOptions{Running: db.Writer() != nil})
		if err != nil {
			return err
		}
		return iterErr
	})
	if err != nil {
		s.errorf("Cannot verify", "%s", sentence(err.Error()))
		return verifyReport{}, exitError
	}
	out := verifyReport{
		OK: rep.OK(), Items: rep.Items, Natives: rep.Natives, Verified: rep.Verified, Bytes: rep.Bytes,
		Missing: nonNil(rep.Missing), Unexpected: nonNil(rep.Unexpected), LeftoverTemps: nonNil(rep.LeftoverTemps),
		State: nonNil(rep.State), Changed: []string{}, Manifest: []string{},
		ApplyRunning: db.Writer() != nil, NewerLines: rep.Newer, PendingLines: rep.Pending, Unrecorded: rep.Unrecorded, InFlight: rep.InFlight,
	}
	for _, c := range rep.Changed {
		out.Changed = append(out.Changed, c.String())
	}
	for _, p := range rep.Manifest {
		out.Manifest = append(out.Manifest, p.String())
	}
	verifier := opts.Verifier
	if verifier == "" {
		verifier = m.Custody.Verifier
	}
	out.Custody, err = checkCustody(custodyCheck{dir: m.Output.Path, verifier: verifier, origin: s.custodyOrigin(m), running: out.ApplyRunning, held: opts.Checkpoints})
	if err != nil {
		s.errorf("Cannot verify the custody log", "%s", sentence(err.Error()))
		return verifyReport{}, exitError
	}
	out.OK = out.OK && out.Custody.OK()
	return out, exitOK
}

func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

// merge adds the report of shard sh to r, its findings named by the shard.
func (r *verifyReport) merge(o verifyReport, sh config.Shard) {
	r.OK = r.OK && o.OK
	r.Items += o.Items
	r.Natives += o.Natives
	r.Verified += o.Verified
	r.Bytes += o.Bytes
	r.NewerLines += o.NewerLines
	r.PendingLines += o.PendingLines
	r.InFlight += o.InFlight
	r.ApplyRunning = r.ApplyRunning || o.ApplyRunning
	r.Shards = append(r.Shards, o.Shards...)
	in := func(list []string) []string {
		out := make([]string, len(list))
		for i, l := range list {
			out[i] = "shard " + sh.String() + ": " + l
		}
		return out
	}
	r.Missing = append(r.Missing, in(o.Missing)...)
	r.Changed = append(r.Changed, in(o.Changed)...)
	r.Unexpected = append(r.Unexpected, in(o.Unexpected)...)
	r.LeftoverTemps = append(r.LeftoverTemps, in(o.LeftoverTemps)...)
	r.Manifest = append(r.Manifest, in(o.Manifest)...)
	r.State = append(r.State, in(o.State)...)
	r.Unrecorded = append(r.Unrecorded, in(o.Unrecorded)...)
	if o.Custody == nil {
		return
	}
	if r.Custody == nil {
		r.Custody = &custodyReport{Problems: []string{}}
	}
	r.Custody.Add(o.Custody.Report, sh.String())
	r.Custody.Problems = append(r.Custody.Problems, in(o.Custody.Problems)...)
}
