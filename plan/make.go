package plan

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/collect-ediscovery/collect/config"
	"github.com/collect-ediscovery/collect/graph"
	"github.com/collect-ediscovery/collect/internal/clock"
	"github.com/collect-ediscovery/collect/state"
	"golang.org/x/sync/errgroup"
)

// Options tune how a plan is made.
type Options struct {
	// Targets narrow the plan to some addresses (see ParseTarget).
	Targets []Target
	// Parallelism is how many mailboxes are read at once.
	Parallelism int
	// Clock stamps the plan; nil means the system clock.
	Clock       clock.Clock
	ToolVersion string
	// Survey makes the plan doctor reports on, never one to apply: every
	// folder in scope is enumerated from scratch whatever cursors the
	// state holds, so that the window counts are those of the mailbox, and
	// a mailbox whose folder filter names a folder it lacks is still
	// enumerated. With FoldersOnly, no message is listed: mailboxes are
	// resolved and their folders listed and matched only.
	Survey      bool
	FoldersOnly bool
}

// Make refreshes the inventory of every mailbox in scope and diffs it with
// the state. Problems with one mailbox are recorded in the plan (and make
// it incomplete); the error return is for what stops the whole plan, such
// as an unreadable state or a canceled context.
func Make(ctx context.Context, m *config.Matter, db *state.DB, src graph.Source, opts Options) (*Plan, error) {
	if opts.Clock == nil {
		opts.Clock = clock.System()
	}
	if opts.Parallelism < 1 {
		opts.Parallelism = 10
	}
	p := &Plan{
		ToolVersion: opts.ToolVersion,
		CreatedAt:   opts.Clock.Now().UTC(),
		Matter:      m.Name,
		MatterHash:  m.Hash(),
		Demo:        m.Tenant.Demo(),
	}
	for _, t := range opts.Targets {
		p.Targets = append(p.Targets, t.String())
	}
	if err := db.View(func(r *state.ReadTx) error {
		meta := r.Meta()
		p.State = StateRef{Lineage: meta.Lineage, Serial: meta.Serial}
		return nil
	}); err != nil {
		return nil, err
	}

	var work []*mailboxWork
	for _, mb := range m.Mailboxes {
		folderTargets, ok := selectTargets(opts.Targets, mb.Addr)
		if !ok {
			continue
		}
		pm := &Mailbox{
			Addr: mb.Addr, Email: mb.Email, Kind: string(mb.Kind),
			Custodians: mb.Custodians, Scope: scopeOf(mb),
		}
		p.Mailboxes = append(p.Mailboxes, pm)
		work = append(work, &mailboxWork{cfg: mb, plan: pm, folders: folderTargets, survey: opts.Survey, foldersOnly: opts.FoldersOnly,
			recollect: m.RecollectChanged})
	}

	var pool errgroup.Group
	pool.SetLimit(opts.Parallelism)
	errs := make([]error, len(work))
	for i, w := range work {
		if ctx.Err() != nil {
			errs[i] = ctx.Err()
			continue
		}
		pool.Go(func() error {
			errs[i] = w.run(ctx, db, src)
			return nil
		})
	}
	pool.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}

	resolved := map[string]string{}
	for _, w := range work {
		pm := w.plan
		if pm.Error != nil {
			e := *pm.Error
			e.Addr = pm.Addr
			p.Errors = append(p.Errors, e)
			continue
		}
		if prev, dup := resolved[pm.Resolved.ID]; dup {
			p.Errors = append(p.Errors, Problem{
				Addr:    pm.Addr,
				SameAs:  prev,
				Summary: "Two addresses name the same mailbox",
				Detail: fmt.Sprintf("%s and %s both resolve to the mailbox %s (%s). Name each mailbox once in the matter, "+
					"and list every custodian it belongs to in a mailbox block's custodians.",
					prev, pm.Addr, pm.Resolved.Address, pm.Resolved.ID),
			})
		}
		resolved[pm.Resolved.ID] = pm.Addr
		p.Warnings = append(p.Warnings, w.warnings...)
		p.Warnings = append(p.Warnings, emptyWindowWarnings(w.cfg, pm, w.census)...)
		if listed := listedFolders(pm); listed > 0 {
			p.Warnings = append(p.Warnings, Problem{
				Addr:    pm.Addr,
				Summary: "Mailbox over its quota: folders listed without delta",
				Detail: fmt.Sprintf("%s is full and refuses delta queries, so %d folders were listed in full instead. "+
					"Nothing is missed, but each plan lists them again until the mailbox has room; ask the Exchange admin "+
					"to raise its quota.", pm.Resolved.Address, listed),
			})
		}
	}
	if len(opts.Targets) == 0 {
		orphans, err := findOrphans(db, m, resolved)
		if err != nil {
			return nil, err
		}
		p.Orphans = orphans
	}
	return p, nil
}

// scopeOf digests the windows of a mailbox: the part of its scope that a
// delta cursor depends on, because windows are applied on the client.
func scopeOf(mb *config.Mailbox) string {
	var b strings.Builder
	for _, w := range mb.Windows {
		end := "open"
		if !w.Open() {
			end = w.End.UTC().Format(time.RFC3339Nano)
		}
		fmt.Fprintf(&b, "%s|%s|%s\n", w.Start.UTC().Format(time.RFC3339Nano), end, w.Date)
	}
	if b.Len() == 0 {
		b.WriteString("whole mailbox")
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:8])
}

type mailboxWork struct {
	cfg     *config.Mailbox
	plan    *Mailbox
	folders []string // folder paths a -target narrowed the mailbox to; nil for all
	// recollect collects changed messages that are not drafts again too
	// (the matter's recollect_changed).
	recollect bool
	// census is what the enumeration saw, to explain an empty window;
	// warnings are the mailbox's own.
	census   *Census
	warnings []Problem
	// survey and foldersOnly are Options.Survey and Options.FoldersOnly.
	survey, foldersOnly bool
}

// mailboxError is what the plan keeps of a mailbox that could not be
// read: the facts (kind, Graph's code and words, request-id). What to do
// about it is the command's to say, from the kind.
func mailboxError(err error, email string) *Problem {
	msg := &Problem{Kind: graph.KindOf(err), Mailbox: email, Summary: "Cannot read mailbox " + email, Detail: err.Error(), FailedScope: true}
	var ge *graph.Error
	if errors.As(err, &ge) {
		msg.Code, msg.RequestID = ge.Code, ge.RequestID
	}
	if msg.Kind == graph.KindNotFound {
		msg.Summary = "No mailbox found for " + email
	}
	return msg
}

func (w *mailboxWork) run(ctx context.Context, db *state.DB, src graph.Source) error {
	pm := w.plan
	mb, err := src.ResolveMailbox(ctx, w.cfg.Email)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		pm.Error = mailboxError(err, w.cfg.Email)
		return nil
	}
	pm.Resolved = mb
	folders, err := w.listFolders(ctx, db, src, mb)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		pm.Error = mailboxError(err, w.cfg.Email)
		return nil
	}
	// A folder entry or target that selects nothing is a mistake to
	// report, never an empty plan that looks like "no changes".
	pm.Unmatched = UnmatchedEntries(folders, w.cfg.Folders)
	pm.Error, w.warnings = unmatchedMessages(pm.Addr, w.cfg.Email, pm.Unmatched)
	if pm.Error != nil && !w.survey {
		return nil
	}
	inScope := SelectFolders(folders, w.cfg.Folders, w.folders)
	for _, target := range w.folders {
		if len(SelectFolders(folders, w.cfg.Folders, []string{target})) == 0 {
			kept := SelectFolders(folders, w.cfg.Folders, nil)
			pm.Error = &Problem{
				Summary: fmt.Sprintf("No folder %q in mailbox %s", target, w.cfg.Email),
				Detail: endSentence(fmt.Sprintf("The target names the folder %q, but %s has no folder with that display path "+
					"or well-known name that the matter's folder filter keeps%s", target, w.cfg.Email,
					DidYouMean(nearestFolders(strings.Trim(target, "/"), kept, folderNames(kept))))) +
					" collect plan without -target lists the folders in scope.",
			}
			return nil
		}
	}
	w.census = newCensus(folders, inScope)
	if w.foldersOnly {
		return nil
	}

	known := map[string]state.Folder{}
	collectedBefore := false
	if err := db.View(func(r *state.ReadTx) error {
		for _, f := range inScope {
			if sf, ok, err := r.Folder(mb.ID, f.ID); err != nil {
				return err
			} else if ok {
				known[f.ID] = sf
			}
		}
		return r.Folders(mb.ID, func(f state.Folder) error {
			if f.Cursor != "" {
				collectedBefore = true
			}
			return nil
		})
	}); err != nil {
		return err
	}

	d := &differ{db: db, mb: mb, cfg: w.cfg, recollect: w.recollect, census: w.census, seen: map[string]bool{}, removed: map[string]removal{},
		windowCounts: map[string]int64{}, present: map[string]bool{}, rescanned: map[string]*Folder{}}
	fromScratch := true
	pfs := make([]*Folder, len(inScope))
	hadRounds := make([]bool, len(inScope))
	for i, f := range inScope {
		pf := &Folder{ID: f.ID, Path: f.Path, WellKnown: f.WellKnownName}
		sf, hadRound := known[f.ID]
		hadRounds[i] = hadRound && sf.Cursor != ""
		if hadRounds[i] && sf.CursorIDType == state.IDTypeImmutable && sf.Scope == pm.Scope && !w.survey {
			pf.Cursor = sf.Cursor
			fromScratch = false
		}
		pfs[i] = pf
	}
	// The folders' rounds run at once, up to the mailbox's requests in
	// flight; the differ takes their pages in folder order, so the plan
	// is the same whatever order the answers come in.
	rounds, stop := readFolders(ctx, src, mb, inScope, pfs)
	defer stop()
	for i, f := range inScope {
		pf := pfs[i]
		pm.Folders = append(pm.Folders, pf)
		if err := d.folder(rounds[i], pf); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			pm.Error = mailboxError(err, w.cfg.Email)
			pm.Error.Summary = fmt.Sprintf("Cannot read folder %q of %s", f.Path, w.cfg.Email)
			return nil
		}
		if hadRounds[i] && (pf.Reset || pf.Cursor == "" || pf.Listed) {
			d.rescanned[pf.Path] = pf
		}
	}
	if err := d.finish(pm); err != nil {
		return err
	}
	if fromScratch && (!collectedBefore || w.survey) {
		pm.WindowCounts = d.windowCounts
	}
	return nil
}

// listFolders lists the mailbox's folders, reusing the well-known folder
// IDs the state holds when the Source can, and keeps what it learned in
// the plan for apply to record.
func (w *mailboxWork) listFolders(ctx context.Context, db *state.DB, src graph.Source, mb graph.Mailbox) ([]graph.Folder, error) {
	lister, ok := src.(graph.WellKnownLister)
	if !ok {
		return src.ListFolders(ctx, mb)
	}
	var known graph.WellKnownFolders
	if err := db.View(func(r *state.ReadTx) error {
		stored, _, err := r.WellKnownFolders(mb.ID)
		known = graph.WellKnownFolders{IDs: stored.IDs, Tree: stored.Tree}
		return err
	}); err != nil {
		return nil, err
	}
	folders, learned, err := lister.ListFoldersKnowing(ctx, mb, known)
	if err != nil {
		return nil, err
	}
	w.plan.WellKnownFolders = &learned
	return folders, nil
}

// SelectFolders keeps the folders the matter's filter and any -target
// folder addresses (nil: none) put in scope, sorted by path.
func SelectFolders(all []graph.Folder, filter config.FolderFilter, targets []string) []graph.Folder {
	chains := wellKnownChains(all)
	var out []graph.Folder
	for i, f := range all {
		wellKnown := chains[i]
		if !filter.Match(f.Path, wellKnown) {
			continue
		}
		if targets != nil && !(config.FolderFilter{Include: targets}).Match(f.Path, wellKnown) {
			continue
		}
		out = append(out, f)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

type removal struct {
	folder *Folder
	reason string
}

// differ diffs the delta rounds of one mailbox's folders with the state.
type differ struct {
	db  *state.DB
	mb  graph.Mailbox
	cfg *config.Mailbox
	// seen holds the IDs this round reported present, across folders: a
	// message listed twice (a duplicate, or moved during the round) is
	// collected once. Only IDs are kept, never records.
	seen map[string]bool
	// removed holds collected items reported gone, until every folder is
	// read: one that shows up in another folder was moved, not removed.
	removed      map[string]removal
	windowCounts map[string]int64
	// round holds the IDs the current folder's round added to seen, to
	// forget them if the round has to start over.
	round []string
	// present holds every ID the rounds listed, in a window or not, and
	// rescanned the folders enumerated from scratch although a round of
	// them had completed before (by path): a collected item last seen in
	// one of those and listed nowhere is gone, though no delta said so.
	present   map[string]bool
	rescanned map[string]*Folder
	census    *Census
	recollect bool
}

// folder takes one folder's round as it arrives. A round that starts
// over (the server forgot the cursor, or the mailbox is full and the
// folder is listed instead) forgets what the pages before reported.
func (d *differ) folder(r *folderRound, pf *Folder) error {
	d.round = d.round[:0]
	newCursor, err := r.drain(func(ev roundEvent) error {
		switch ev.restart {
		case "":
			return d.page(pf, ev.page)
		case restartReset:
			// The server forgot the cursor: enumerate the folder again.
			// What the state holds is not fetched twice. What the pages
			// read before the 410 reported is forgotten, so that the new
			// round plans it again (the new cursor will be past it).
			pf.Reset = true
		case restartListed:
			// Exchange refuses delta queries on a full mailbox: list the
			// folder instead. A listing has no cursor and reports no
			// removals, so the stored cursor stays for when the mailbox has
			// room again, and what the state holds but the listing lacks is
			// tombstoned.
			pf.Listed = true
		}
		for _, id := range d.round {
			delete(d.seen, id)
		}
		d.round = d.round[:0]
		pf.Fetch, pf.Tombstones, pf.Moves = nil, nil, nil
		pf.Seen, pf.AlreadyCollected, pf.OutOfWindow = 0, 0, 0
		return nil
	})
	if err != nil {
		return err
	}
	pf.NewCursor = newCursor
	return nil
}

func (d *differ) page(pf *Folder, page graph.DeltaPage) error {
	return d.db.View(func(r *state.ReadTx) error {
		for _, msg := range page.Messages {
			if !d.present[msg.ID] {
				d.census.observe(d.cfg.Windows, msg)
			}
			d.present[msg.ID] = true
			if d.seen[msg.ID] {
				continue
			}
			if !msg.IsMail() {
				// A note, task, calendar item, contact or Teams chat copy
				// in a mail folder: never collected, only counted.
				d.seen[msg.ID] = true
				d.round = append(d.round, msg.ID)
				pf.NotMail++
				continue
			}
			if !d.cfg.InScope(msg.Received, msg.Sent, msg.LastModified, msg.IsDraft) {
				pf.OutOfWindow++
				continue
			}
			d.seen[msg.ID] = true
			d.round = append(d.round, msg.ID)
			delete(d.removed, msg.ID)
			pf.Seen++
			d.countWindows(msg)
			it, found, err := r.Item(d.mb.ID, msg.ID)
			if err != nil {
				return err
			}
			item := Item{
				ID: msg.ID, InternetMessageID: msg.InternetMessageID,
				Received: msg.Received.UTC(), Sent: msg.Sent.UTC(),
				Subject: msg.Subject, From: msg.From,
				ChangeKey: msg.ChangeKey, LastModified: msg.LastModified.UTC(), Draft: msg.IsDraft,
				ConversationID: msg.ConversationID,
			}
			if found && it.Collected() {
				moved := false
				if from := it.LastSeenIn(); from != "" && from != pf.Path {
					pf.Moves = append(pf.Moves, Move{ID: msg.ID, FromPath: from, ChangeKey: msg.ChangeKey})
					moved = true
				}
				// A changeKey not accounted for: an edited draft (or, when
				// the matter says so, any changed message) is collected
				// again as a new version, whose bytes apply compares; other
				// changes are observations, and a move, which changes the
				// key too, is one already. Items collected before changeKeys
				// were recorded have none to compare with.
				if seen := it.AccountedChangeKey(); msg.ChangeKey != "" && seen != "" && msg.ChangeKey != seen {
					if msg.IsDraft || d.recollect {
						item.Version = it.VersionNumber() + 1
						pf.Fetch = append(pf.Fetch, item)
						continue
					}
					if !moved {
						pf.Changes = append(pf.Changes, Change{ID: msg.ID, ChangeKey: msg.ChangeKey, LastModified: item.LastModified})
					}
				}
				pf.AlreadyCollected++
				continue
			}
			pf.Fetch = append(pf.Fetch, item)
		}
		for _, rm := range page.Removed {
			if d.seen[rm.ID] {
				continue
			}
			it, found, err := r.Item(d.mb.ID, rm.ID)
			if err != nil {
				return err
			}
			// Only a collected item seen last in this folder leaves a
			// tombstone: a removal from another folder is half of a move.
			// One already tombstoned (by a full listing, say) is not again.
			if found && it.Collected() && !it.Gone() && (it.LastSeenIn() == "" || it.LastSeenIn() == pf.Path) {
				d.removed[rm.ID] = removal{folder: pf, reason: rm.Reason}
			}
		}
		return nil
	})
}

func listedFolders(pm *Mailbox) int {
	n := 0
	for _, f := range pm.Folders {
		if f.Listed {
			n++
		}
	}
	return n
}

func (d *differ) countWindows(msg graph.Message) {
	for _, w := range d.cfg.Windows {
		if w.Places(msg.Received, msg.Sent, msg.LastModified, msg.IsDraft) {
			d.windowCounts[w.Name]++
		}
	}
}

func (d *differ) finish(pm *Mailbox) error {
	if len(d.rescanned) > 0 {
		err := d.db.View(func(r *state.ReadTx) error {
			return r.ItemsOfMailbox(d.mb.ID, func(it state.Item) error {
				if !it.Collected() || d.present[it.ID] || it.Gone() {
					return nil
				}
				if pf := d.rescanned[it.LastSeenIn()]; pf != nil {
					if _, ok := d.removed[it.ID]; !ok {
						d.removed[it.ID] = removal{folder: pf, reason: "not listed when the folder was enumerated again"}
					}
				}
				return nil
			})
		})
		if err != nil {
			return err
		}
	}
	ids := make([]string, 0, len(d.removed))
	for id := range d.removed {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		rm := d.removed[id]
		reason := rm.reason
		if reason == "" {
			reason = "deleted"
		}
		rm.folder.Tombstones = append(rm.folder.Tombstones, Tombstone{ID: id, Reason: reason})
	}
	return nil
}

// emptyWindowWarnings warns about a window that holds no message on a
// first enumeration, and says why.
func emptyWindowWarnings(cfg *config.Mailbox, pm *Mailbox, c *Census) []Problem {
	if pm.WindowCounts == nil || c == nil {
		return nil // not a first enumeration: the round saw only changes
	}
	var out []Problem
	for _, w := range cfg.Windows {
		if pm.WindowCounts[w.Name] == 0 {
			out = append(out, Problem{
				Addr:    pm.Addr,
				Window:  w.Name,
				Summary: fmt.Sprintf("0 messages in window %q", w.Name),
				Detail:  c.EmptyCause(pm.Resolved.Address, w),
			})
		}
	}
	if len(cfg.Windows) == 0 && pm.Counts().Seen == 0 {
		out = append(out, Problem{
			Addr:    pm.Addr,
			Summary: "0 messages in the mailbox",
			Detail:  c.EmptyCause(pm.Resolved.Address, nil),
		})
	}
	return out
}

func findOrphans(db *state.DB, m *config.Matter, resolved map[string]string) ([]Orphan, error) {
	addrs := map[string]bool{}
	for _, mb := range m.Mailboxes {
		addrs[mb.Addr] = true
	}
	var out []Orphan
	err := db.View(func(r *state.ReadTx) error {
		return r.Mailboxes(func(mb state.Mailbox) error {
			if _, ok := resolved[mb.ID]; ok {
				return nil
			}
			named := false
			for _, ref := range mb.References {
				named = named || addrs[ref]
			}
			if named {
				// Named by the matter but not resolved this time: its
				// error is reported with the mailbox.
				return nil
			}
			o := Orphan{MailboxID: mb.ID, Address: mb.Address, References: mb.References}
			if err := r.ItemsOfMailbox(mb.ID, func(it state.Item) error {
				if it.Collected() {
					o.Items++
				}
				return nil
			}); err != nil {
				return err
			}
			out = append(out, o)
			return nil
		})
	})
	return out, err
}
