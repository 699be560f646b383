package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/collect-ediscovery/collect/state"
)

const stateHelp = `Usage: collect [global options] state <subcommand> [options] [ADDR]

  Shows what the state file records. It never changes it.

Subcommands:
  list [ADDR]   List the collected addresses (mailboxes and folders) with counts,
                optionally only those under ADDR.
  show ADDR     Show one mailbox or folder: identity, folders, cursors,
                items, tombstones, moves and failures.

Options:
  -lock-timeout=D    Wait up to D for the state lock (default 0: fail at once).
  -var, -var-file    Variables, when the matter needs them to find the state.
`

// addrCounts sums the items of a mailbox or folder in the state.
type addrCounts struct {
	items, collected, tombstones, moves, failures int64
	bytes                                         int64
}

func (c *addrCounts) add(it state.Item) {
	c.items++
	if it.Collected() {
		c.collected++
		c.bytes += it.Size
	}
	c.tombstones += int64(it.Tombstones())
	c.moves += int64(it.Moves())
}

func runState(s *streams, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(s.stderr, stateHelp)
		return exitError
	}
	sub, rest := args[0], args[1:]
	opts, diags := ParseStateCmd(sub, rest)
	if diags.HasErrors() {
		s.writeDiags(diags, nil)
		return exitError
	}
	m := loadMatter(s, opts.Vars)
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

func stateList(s *streams, r *state.ReadTx, filter string) error {
	meta := r.Meta()
	if !meta.Exists() {
		fmt.Fprintln(s.stdout, "The state is empty: nothing has been collected yet. Run collect plan, then collect apply.")
		return nil
	}
	found := false
	err := r.Mailboxes(func(mb state.Mailbox) error {
		addr := mailboxAddr(mb)
		folders, per, total, err := stateFolders(r, mb)
		if err != nil {
			return err
		}
		mbMatch := filter == "" || addr == filter || strings.HasPrefix(addr, filter+".")
		for _, ref := range mb.References {
			mbMatch = mbMatch || ref == filter || strings.HasPrefix(ref, filter+".")
		}
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
		return nil
	})
	if err == nil && !found && filter != "" {
		return addrError(fmt.Sprintf("Nothing in the state is at %s. Run collect state list to see the addresses.", filter))
	}
	return err
}

func stateShow(s *streams, r *state.ReadTx, addr string) error {
	var hit *state.Mailbox
	folderPath := ""
	base := addr
	if i := strings.IndexByte(addr, '['); i >= 0 && strings.HasSuffix(addr, "]") {
		p, err := strconv.Unquote(addr[i+1 : len(addr)-1])
		if err != nil {
			return addrError(fmt.Sprintf("The folder in %s must be quoted, as in %s[\"Inbox\"].", addr, addr[:i]))
		}
		base, folderPath = addr[:i], p
	}
	err := r.Mailboxes(func(mb state.Mailbox) error {
		for _, ref := range mb.References {
			if ref == base {
				m := mb
				hit = &m
			}
		}
		if strings.EqualFold(mb.Address, base) {
			m := mb
			hit = &m
		}
		return nil
	})
	if err != nil {
		return err
	}
	if hit == nil {
		return addrError(fmt.Sprintf("The state has no mailbox at %s. Run collect state list to see the addresses.", addr))
	}
	folders, per, total, err := stateFolders(r, *hit)
	if err != nil {
		return err
	}
	w := s.stdout
	if folderPath == "" {
		fmt.Fprintf(w, "%s\n  mailbox:     %s (%s)\n  id:          %s\n  upn:         %s\n", base, hit.Address, hit.DisplayName, hit.ID, hit.UserPrincipalName)
		fmt.Fprintf(w, "  addresses:   %s\n  custodians:  %s\n", strings.Join(hit.References, ", "), strings.Join(hit.Custodians, ", "))
		fmt.Fprintf(w, "  collected:   %s (%s)\n  tombstones:  %s\n  moves:       %s\n  failures:    %s\n",
			commas(total.collected), byteSize(total.bytes), commas(total.tombstones), commas(total.moves), commas(total.failures))
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
			fmt.Fprintf(w, "%s\n  folder id:   %s\n  collected:   %s (%s)\n  tombstones:  %s\n  moves:       %s\n  delta:       %s\n",
				addr, f.ID, commas(c.collected), byteSize(c.bytes), commas(c.tombstones), commas(c.moves), cursor)
			continue
		}
		fmt.Fprintf(w, "    %-40s %8s collected  delta %s\n", strconv.Quote(f.Path), commas(c.collected), cursor)
	}
	if folderPath != "" && !shown {
		return addrError(fmt.Sprintf("The mailbox at %s has no folder %q in the state.", base, folderPath))
	}
	return nil
}
