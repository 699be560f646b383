package main

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/collect-ediscovery/collect/apply"
	"github.com/collect-ediscovery/collect/config"
	"github.com/collect-ediscovery/collect/plan"
	"github.com/collect-ediscovery/collect/state"
	"github.com/collect-ediscovery/collect/store"
	"github.com/hashicorp/hcl/v2"
)

const stateHelp = `Usage: collect [global options] state <subcommand> [options] [ADDR]

  Shows what the state file records; list and show never change it.

Subcommands:
  list [ADDR]   List the collected addresses (mailboxes and folders) with counts,
                optionally only those under ADDR.
  show ADDR     Show one mailbox or folder: identity, folders, cursors,
                items, tombstones, moves and failures.
  rebuild       Rebuild a lost or damaged state from the output folder: every
                manifest line and run record, every native re-hashed. A damaged
                state file is moved aside, never deleted; one that opens is
                replaced only with -force (and moved aside too). Delta cursors
                start again: the next plan reads every folder in full and
                fetches nothing already collected.

Options:
  -force             state rebuild: replace a state file that opens.
  -lock-timeout=D    Wait up to D for the state lock (default 0: fail at once).
  -var, -var-file    Variables, when the matter needs them to find the state.

Exit status of state rebuild: 0 when the state was rebuilt and every native
matches the manifest; 7 when it was rebuilt but some natives are missing or
changed (collect verify lists them); 5 when the state is locked; 1 on any
other error, when nothing was changed.
`

// addrCounts sums the items of a mailbox or folder in the state.
type addrCounts struct {
	items, collected, tombstones, moves, failures int64
	bytes                                         int64
	versions, changes                             int64 // earlier versions kept; changes observed
}

func (c *addrCounts) add(it state.Item) {
	c.items++
	if it.Collected() {
		c.collected++
		c.bytes += it.Size
	}
	c.tombstones += int64(it.Tombstones())
	c.moves += int64(it.Moves())
	c.versions += int64(len(it.Versions))
	c.changes += int64(it.Changes())
}

func runState(s *streams, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(s.stderr, stateHelp)
		return exitError
	}
	sub, rest := args[0], args[1:]
	if sub == "rebuild" {
		return runStateRebuild(s, rest)
	}
	opts, diags := ParseStateCmd(sub, rest)
	if diags.HasErrors() {
		s.writeDiags(diags, nil)
		return exitError
	}
	m := loadMatterToRead(s, opts.Vars)
	if m == nil {
		return exitError
	}
	db, code := openStateToRead(s, m, opts.LockTimeout, "state "+sub)
	if db == nil {
		return code
	}
	defer db.Close()
	err := db.View(func(r *state.ReadTx) error {
		if sub == "list" {
			return stateList(s, r, opts.Addr)
		}
		return stateShow(s, r, opts.Addr)
	})
	if err != nil {
		if e, ok := err.(addrError); ok {
			s.errorf("Unknown address", "%s", string(e))
		} else {
			s.errorf("Cannot read the state", "%s", sentence(err.Error()))
		}
		return exitError
	}
	return exitOK
}

type addrError string

func (e addrError) Error() string { return string(e) }

// stateFolders lists a mailbox's folders sorted by path, with counts.
func stateFolders(r *state.ReadTx, mb state.Mailbox) ([]state.Folder, map[string]*addrCounts, *addrCounts, error) {
	var folders []state.Folder
	if err := r.Folders(mb.ID, func(f state.Folder) error { folders = append(folders, f); return nil }); err != nil {
		return nil, nil, nil, err
	}
	sort.Slice(folders, func(i, j int) bool { return folders[i].Path < folders[j].Path })
	per := map[string]*addrCounts{}
	total := &addrCounts{}
	err := r.ItemsOfMailbox(mb.ID, func(it state.Item) error {
		c := per[it.FolderID]
		if c == nil {
			c = &addrCounts{}
			per[it.FolderID] = c
		}
		c.add(it)
		total.add(it)
		return nil
	})
	if err != nil {
		return nil, nil, nil, err
	}
	if err := r.Failures(mb.ID, func(state.Failure) error { total.failures++; return nil }); err != nil {
		return nil, nil, nil, err
	}
	return folders, per, total, nil
}

func mailboxAddr(mb state.Mailbox) string {
	if len(mb.References) > 0 {
		return mb.References[0]
	}
	return mb.Address
}

// stateMailboxes lists the state's mailboxes sorted by address.
func stateMailboxes(r *state.ReadTx) ([]state.Mailbox, error) {
	var out []state.Mailbox
	err := r.Mailboxes(func(mb state.Mailbox) error { out = append(out, mb); return nil })
	sort.SliceStable(out, func(i, j int) bool { return mailboxAddr(out[i]) < mailboxAddr(out[j]) })
	return out, err
}

// under reports whether a mailbox is at addr or below it: one of its
// addresses is addr (custodian.jdoe.mailbox.primary, mailbox.legal) or
// starts with it (custodian.jdoe), or addr is its e-mail address.
func under(mb state.Mailbox, addr string) bool {
	if strings.EqualFold(mb.Address, addr) {
		return true
	}
	for _, ref := range append([]string{mailboxAddr(mb)}, mb.References...) {
		if ref == addr || strings.HasPrefix(ref, addr+".") {
			return true
		}
	}
	return false
}

// unknownAddr says that the state has nothing at addr, with the nearest
// addresses it has.
func unknownAddr(r *state.ReadTx, mailboxes []state.Mailbox, addr, what string) error {
	var known []string
	for _, mb := range mailboxes {
		known = append(known, mb.Address)
		for _, ref := range append([]string{mailboxAddr(mb)}, mb.References...) {
			known = append(known, ref)
			if c, _, ok := strings.Cut(ref, ".mailbox."); ok {
				known = append(known, c)
			}
		}
		if strings.Contains(addr, "[") {
			if err := r.Folders(mb.ID, func(f state.Folder) error {
				known = append(known, mailboxAddr(mb)+"["+strconv.Quote(f.Path)+"]")
				return nil
			}); err != nil {
				return err
			}
		}
	}
	msg := fmt.Sprintf("%s %s", what, addr)
	if near := plan.Nearest(addr, known, 1); len(near) > 0 {
		return addrError(msg + plan.DidYouMean(near) + " Run collect state list to see the addresses.")
	}
	return addrError(msg + ". Run collect state list to see the addresses.")
}

func stateList(s *streams, r *state.ReadTx, filter string) error {
	meta := r.Meta()
	if !meta.Exists() {
		fmt.Fprintln(s.stdout, "The state is empty: nothing has been collected yet. Run collect plan, then collect apply.")
		return nil
	}
	mailboxes, err := stateMailboxes(r)
	if err != nil {
		return err
	}
	found := false
	for _, mb := range mailboxes {
		addr := mailboxAddr(mb)
		folders, per, total, err := stateFolders(r, mb)
		if err != nil {
			return err
		}
		mbMatch := filter == "" || under(mb, filter)
		if mbMatch {
			found = true
			fmt.Fprintf(s.stdout, "%s  %s  %s collected (%s)\n", addr, mb.Address, commas(total.collected), byteSize(total.bytes))
		}
		for _, f := range folders {
			fa := addr + "[" + strconv.Quote(f.Path) + "]"
			if !mbMatch && fa != filter {
				continue
			}
			found = true
			c := per[f.ID]
			if c == nil {
				c = &addrCounts{}
			}
			fmt.Fprintf(s.stdout, "%s  %s collected\n", fa, commas(c.collected))
		}
	}
	if !found && filter != "" {
		return unknownAddr(r, mailboxes, filter, "Nothing in the state is at")
	}
	return nil
}

// stateShow shows the mailboxes at addr (a custodian's, one mailbox, or
// a mailbox's e-mail address), or one folder of a mailbox.
func stateShow(s *streams, r *state.ReadTx, addr string) error {
	folderPath := ""
	base := addr
	if i := strings.IndexByte(addr, '['); i >= 0 && strings.HasSuffix(addr, "]") {
		p, err := strconv.Unquote(addr[i+1 : len(addr)-1])
		if err != nil {
			return addrError(fmt.Sprintf("The folder in %s must be quoted, as in %s[\"Inbox\"].", addr, addr[:i]))
		}
		base, folderPath = addr[:i], p
	}
	mailboxes, err := stateMailboxes(r)
	if err != nil {
		return err
	}
	var hits []state.Mailbox
	for _, mb := range mailboxes {
		exact := strings.EqualFold(mb.Address, base) || slices.Contains(mb.References, base)
		if exact || (folderPath == "" && under(mb, base)) {
			hits = append(hits, mb)
		}
	}
	if len(hits) == 0 {
		return unknownAddr(r, mailboxes, addr, "The state has no mailbox at")
	}
	for i, mb := range hits {
		if i > 0 {
			fmt.Fprintln(s.stdout)
		}
		name := mailboxAddr(mb)
		if slices.Contains(mb.References, base) {
			name = base
		}
		if err := showMailbox(s, r, mb, name, folderPath); err != nil {
			return err
		}
	}
	return nil
}

func showMailbox(s *streams, r *state.ReadTx, mb state.Mailbox, addr, folderPath string) error {
	folders, per, total, err := stateFolders(r, mb)
	if err != nil {
		return err
	}
	w := s.stdout
	if folderPath == "" {
		refs, custodians := slices.Sorted(slices.Values(mb.References)), slices.Sorted(slices.Values(mb.Custodians))
		fmt.Fprintf(w, "%s\n  mailbox:     %s (%s)\n  id:          %s\n  upn:         %s\n", addr, mb.Address, mb.DisplayName, mb.ID, mb.UserPrincipalName)
		fmt.Fprintf(w, "  addresses:   %s\n  custodians:  %s\n", strings.Join(refs, ", "), strings.Join(custodians, ", "))
		fmt.Fprintf(w, "  collected:   %s (%s)\n  tombstones:  %s\n  moves:       %s\n  failures:    %s\n",
			commas(total.collected), byteSize(total.bytes), commas(total.tombstones), commas(total.moves), commas(total.failures))
		if total.versions+total.changes > 0 {
			fmt.Fprintf(w, "  versions:    %s earlier versions kept of changed drafts and messages\n  changes:     %s observed without new bytes\n",
				commas(total.versions), commas(total.changes))
		}
		fmt.Fprintln(w, "  folders:")
	}
	shown := false
	for _, f := range folders {
		if folderPath != "" && !strings.EqualFold(f.Path, folderPath) {
			continue
		}
		shown = true
		c := per[f.ID]
		if c == nil {
			c = &addrCounts{}
		}
		cursor := "none yet"
		if f.Cursor != "" {
			cursor = "complete as of " + f.LastCompleted.Format(time.RFC3339)
		}
		if folderPath != "" {
			fmt.Fprintf(w, "%s[%s]\n  folder id:   %s\n  collected:   %s (%s)\n  tombstones:  %s\n  moves:       %s\n  delta:       %s\n",
				addr, strconv.Quote(f.Path), f.ID, commas(c.collected), byteSize(c.bytes), commas(c.tombstones), commas(c.moves), cursor)
			continue
		}
		fmt.Fprintf(w, "    %-40s %8s collected  delta %s\n", strconv.Quote(f.Path), commas(c.collected), cursor)
	}
	if folderPath != "" && !shown {
		var paths []string
		for _, f := range folders {
			paths = append(paths, f.Path)
		}
		msg := fmt.Sprintf("The mailbox at %s has no folder %q in the state", addr, folderPath)
		if near := plan.Nearest(folderPath, paths, 3); len(near) > 0 {
			return addrError(msg + plan.DidYouMean(near))
		}
		return addrError(msg + ".")
	}
	return nil
}

// StateRebuild holds the options of collect state rebuild.
type StateRebuild struct {
	Force       bool
	Vars        []config.VarOption
	LockTimeout time.Duration
}

// ParseStateRebuild parses the options of collect state rebuild.
func ParseStateRebuild(args []string) (StateRebuild, hcl.Diagnostics) {
	var c StateRebuild
	fs := newFlagSet("state rebuild")
	addVarFlags(fs, &c.Vars)
	fs.BoolVar(&c.Force, "force", false, "")
	fs.DurationVar(&c.LockTimeout, "lock-timeout", 0, "")
	diags := parseFlags(fs, args)
	if len(fs.Args()) > 0 {
		diags = append(diags, errorDiag("Unexpected arguments", "collect state rebuild takes no address: it rebuilds the whole state.")...)
	}
	return c, append(diags, checkCommon(1, c.LockTimeout)...)
}

func runStateRebuild(s *streams, args []string) int {
	opts, diags := ParseStateRebuild(args)
	if diags.HasErrors() {
		s.writeDiags(diags, nil)
		return exitError
	}
	m := loadMatterToRead(s, opts.Vars)
	if m == nil {
		return exitError
	}
	if m.Backend.Type != "" {
		s.errorf("state rebuild works on an output folder", "The collection is kept in a %s backend, whose states are "+
			"checkpointed there with their manifests; a shard's state is never rebuilt from its manifest. If a shard's state "+
			"blob was lost or damaged, restore it from the container's blob versions or soft delete, then run collect verify.", m.Backend.Type)
		return exitError
	}
	tail, _, err := store.ManifestTail(m.Output.Path)
	if err != nil {
		s.errorf("Cannot read the output folder", "%s Nothing was changed.", sentence(err.Error()))
		return exitError
	}
	references := map[string][]string{}
	for _, mb := range m.Mailboxes {
		e := strings.ToLower(mb.Email)
		references[e] = append(references[e], mb.Addr)
	}
	var rep apply.RebuildReport
	ctx, stop := interruptible(s, "Interrupted: stopping the rebuild; the state is left as it was.")
	defer stop()
	sopts := state.Options{Operation: "state rebuild", ToolVersion: toolVersion(), Lineage: tail.Lineage, LockTimeout: opts.LockTimeout}
	done, err := state.Rebuild(m.State.Path, sopts, opts.Force, func(db *state.DB) error {
		var err error
		rep, err = apply.Rebuild(ctx, db, m.Output.Path, references)
		return err
	})
	if err != nil {
		var healthy *state.HealthyError
		switch {
		case exitCode(err) == exitLocked:
			s.errorf("State locked", "%s", sentence(err.Error()))
		case errors.As(err, &healthy):
			s.errorf("The state is not damaged", "%s", sentence(err.Error()))
		default:
			s.errorf("Cannot rebuild the state", "%s", sentence(err.Error()))
		}
		return exitCode(err)
	}
	w := s.stdout
	fmt.Fprintf(w, "Rebuilt the state %s from the output folder %s: %s in %s, %s.\n", m.State.Path, m.Output.Path,
		plural(rep.Items, "item", "items"), plural(rep.Mailboxes, "mailbox", "mailboxes"), plural(rep.Runs, "run record", "run records"))
	switch {
	case done.Damaged:
		fmt.Fprintf(w, "The damaged state file was moved to %s.\n", done.Aside)
	case done.Aside != "":
		fmt.Fprintf(w, "The state file it replaced was moved to %s.\n", done.Aside)
	}
	v := rep.Verify
	for _, p := range v.Missing {
		fmt.Fprintf(w, "Missing native: %s\n", p)
	}
	for _, p := range v.Changed {
		fmt.Fprintf(w, "Changed native: %s\n", p)
	}
	code := exitOK
	if len(v.Missing)+len(v.Changed) > 0 {
		fmt.Fprintf(w, "Re-hashed %s: %s missing, %s changed. The state records them as the manifest does; run collect verify for the full report.\n",
			plural(v.Natives, "native", "natives"), commas(int64(len(v.Missing))), commas(int64(len(v.Changed))))
		code = exitVerify
	} else {
		fmt.Fprintf(w, "Re-hashed %s (%s): every one matches the manifest.\n", plural(v.Verified, "native", "natives"), byteSize(v.Bytes))
	}
	fmt.Fprintln(w, "Delta cursors start again: the next plan reads every folder in full and fetches nothing already collected. "+
		"Removals and moves seen before were recorded only in the old state.")
	return code
}

// stateMatchesOutput refuses a state that does not hold the collection of
// the output folder (apply.CheckOutput) before anything is asked of Graph,
// and reports whether the command may go on.
func stateMatchesOutput(s *streams, m *config.Matter, db *state.DB) bool {
	err := apply.CheckOutput(db, m.Output.Path)
	if err == nil {
		return true
	}
	summary := "Cannot read the output folder"
	if errors.As(err, new(*apply.OutputError)) {
		summary = "The state does not match the output folder"
	}
	s.errorf(summary, "%s", sentence(err.Error()))
	return false
}
