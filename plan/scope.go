package plan

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/agext/levenshtein"
	"github.com/collect-ediscovery/collect/config"
	"github.com/collect-ediscovery/collect/graph"
)

// UnmatchedEntry is an entry of a mailbox's folder filter that matches no
// folder of the mailbox, with the folder names nearest to it.
type UnmatchedEntry struct {
	Entry   string   `json:"entry"`
	Exclude bool     `json:"exclude,omitempty"`
	Nearest []string `json:"nearest,omitempty"`
}

// Field names the filter list the entry is in, as the matter writes it.
func (u UnmatchedEntry) Field() string {
	if u.Exclude {
		return "folders.exclude"
	}
	return "folders.include"
}

// UnmatchedEntries lists the filter's entries that match no folder of the
// mailbox. An include entry that matches nothing is a mistake that would
// leave its folders out unseen; an exclude entry that matches nothing
// leaves nothing out.
func UnmatchedEntries(all []graph.Folder, filter config.FolderFilter) []UnmatchedEntry {
	if filter.Empty() {
		return nil
	}
	chains := wellKnownChains(all)
	names := folderNames(all)
	var out []UnmatchedEntry
	check := func(entries []string, exclude bool) {
		for _, e := range entries {
			one := config.FolderFilter{Include: []string{e}}
			matched := false
			for i, f := range all {
				if one.Match(f.Path, chains[i]) {
					matched = true
					break
				}
			}
			if !matched {
				out = append(out, UnmatchedEntry{Entry: e, Exclude: exclude, Nearest: nearestFolders(strings.Trim(e, "/"), all, names)})
			}
		}
	}
	check(filter.Include, false)
	check(filter.Exclude, true)
	return out
}

// wellKnownChains lists, for each folder, the well-known names of the
// folder and of its ancestors: an entry naming any of them covers it.
func wellKnownChains(all []graph.Folder) [][]string {
	byID := make(map[string]graph.Folder, len(all))
	for _, f := range all {
		byID[f.ID] = f
	}
	out := make([][]string, len(all))
	for i, f := range all {
		for cur, hops := f, 0; hops < 64; hops++ {
			if cur.WellKnownName != "" {
				out[i] = append(out[i], cur.WellKnownName)
			}
			parent, ok := byID[cur.ParentID]
			if !ok {
				break
			}
			cur = parent
		}
	}
	return out
}

// folderNames are the names a filter entry may use for the mailbox's
// folders: display paths and well-known names.
func folderNames(all []graph.Folder) []string {
	var out []string
	for _, f := range all {
		out = append(out, f.Path)
		if f.WellKnownName != "" {
			out = append(out, f.WellKnownName)
		}
	}
	return out
}

// Nearest returns up to n of the candidates closest to s by edit distance,
// ignoring case, nearest first: those close enough to be what s meant.
func Nearest(s string, candidates []string, n int) []string {
	return nearestWithin(s, candidates, n, len(s)/2+1)
}

func nearestWithin(s string, candidates []string, n, limit int) []string {
	type scored struct {
		name string
		d    int
	}
	seen := map[string]bool{strings.ToLower(s): true}
	var near []scored
	for _, c := range candidates {
		key := strings.ToLower(c)
		if seen[key] {
			continue
		}
		seen[key] = true
		if d := levenshtein.Distance(strings.ToLower(s), key, nil); d <= limit {
			near = append(near, scored{c, d})
		}
	}
	sort.SliceStable(near, func(i, j int) bool {
		if near[i].d != near[j].d {
			return near[i].d < near[j].d
		}
		return near[i].name < near[j].name
	})
	var out []string
	for i := 0; i < len(near) && i < n; i++ {
		out = append(out, near[i].name)
	}
	return out
}

// nearestFolders suggests folder names for an entry: the names nearest to
// it, and for a path whose parent exists, that parent's subfolders
// nearest to its last part.
func nearestFolders(entry string, all []graph.Folder, names []string) []string {
	const max = 3
	near := Nearest(entry, names, max)
	i := strings.LastIndex(entry, "/")
	if i <= 0 {
		return near
	}
	parent, last := entry[:i], entry[i+1:]
	var children []string
	byLast := map[string]string{}
	for _, f := range all {
		if j := strings.LastIndex(f.Path, "/"); j > 0 && strings.EqualFold(f.Path[:j], parent) {
			children = append(children, f.Path[j+1:])
			byLast[f.Path[j+1:]] = f.Path
		}
	}
	for _, c := range nearestWithin(last, children, max, len(last)+len(entry)) {
		if len(near) == max {
			break
		}
		if !slices.ContainsFunc(near, func(n string) bool { return strings.EqualFold(n, byLast[c]) }) {
			near = append(near, byLast[c])
		}
	}
	return near
}

// DidYouMean writes "; did you mean "A" or "B"?" for suggestions, or
// nothing.
func DidYouMean(names []string) string {
	if len(names) == 0 {
		return ""
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return "; did you mean " + strings.Join(q, " or ") + "?"
}

func endSentence(s string) string {
	if strings.HasSuffix(s, "?") {
		return s
	}
	return s + "."
}

// unmatchedMessages turns a mailbox's unmatched filter entries into an
// error (include entries: the plan cannot be applied until the matter is
// fixed) and warnings (exclude entries).
func unmatchedMessages(addr, email string, entries []UnmatchedEntry) (errMsg *Problem, warnings []Problem) {
	var names, facts []string
	for _, u := range entries {
		if u.Exclude {
			warnings = append(warnings, Problem{
				Addr:    addr,
				Summary: fmt.Sprintf("%s entry %q matches no folder of %s", u.Field(), u.Entry, email),
				Detail:  endSentence("It leaves nothing out" + DidYouMean(u.Nearest)),
			})
			continue
		}
		names = append(names, fmt.Sprintf("%q", u.Entry))
		facts = append(facts, fmt.Sprintf("%q matches no folder%s", u.Entry, DidYouMean(u.Nearest)))
	}
	if len(names) == 0 {
		return nil, warnings
	}
	summary := fmt.Sprintf("folders.include entry %s matches no folder of %s", names[0], email)
	if len(names) > 1 {
		summary = fmt.Sprintf("folders.include entries %s match no folder of %s", strings.Join(names, ", "), email)
	}
	return &Problem{
		Addr:    addr,
		Summary: summary,
		Detail: endSentence(strings.Join(facts, "; ")) + " Name a folder by its display path from the mailbox root " +
			"(\"Inbox/Projects\") or by a well-known name (\"sentitems\").",
	}, warnings
}

// Span is the oldest and newest time of the messages a round listed, by
// one window's date field.
type Span struct{ Oldest, Newest time.Time }

func (s *Span) add(t time.Time) {
	if t.IsZero() {
		return
	}
	if s.Oldest.IsZero() || t.Before(s.Oldest) {
		s.Oldest = t
	}
	if t.After(s.Newest) {
		s.Newest = t
	}
}

// Census is what the first enumeration of a mailbox saw: enough to say
// why a window holds no message.
type Census struct {
	Folders int // folders of the mailbox
	InScope int // of those, the folders in scope
	// ItemsOutside is how many items the server counts in the folders
	// left out of scope; ItemsAll in every folder.
	ItemsOutside, ItemsAll int64
	// Listed is how many distinct messages the rounds of the folders in
	// scope listed, in a window or not.
	Listed int64
	// Spans holds, per window name, the oldest and newest listed message
	// by that window's date field.
	Spans map[string]*Span
}

func newCensus(all, inScope []graph.Folder) *Census {
	c := &Census{Folders: len(all), InScope: len(inScope), Spans: map[string]*Span{}}
	kept := make(map[string]bool, len(inScope))
	for _, f := range inScope {
		kept[f.ID] = true
	}
	for _, f := range all {
		c.ItemsAll += f.TotalCount
		if !kept[f.ID] {
			c.ItemsOutside += f.TotalCount
		}
	}
	return c
}

func (c *Census) observe(windows []*config.Window, msg graph.Message) {
	c.Listed++
	for _, w := range windows {
		s := c.Spans[w.Name]
		if s == nil {
			s = &Span{}
			c.Spans[w.Name] = s
		}
		s.add(w.DateOf(msg.Received, msg.Sent, msg.LastModified, msg.IsDraft))
	}
}

// EmptyCause says why a window (nil: the whole mailbox) of a mailbox
// holds no message: the folders in scope hold none while others do, the
// mailbox has mail but none in the window, or the mailbox shows no mail
// at all, which is how a mailbox looks before delegation applies.
func (c *Census) EmptyCause(email string, w *config.Window) string {
	switch {
	case c.Listed == 0 && c.ItemsOutside > 0:
		return fmt.Sprintf("The folder filter keeps %d of the %d folders of %s, and they hold no message; "+
			"the folders it leaves out hold %s. Check folders.include and folders.exclude.",
			c.InScope, c.Folders, email, count(c.ItemsOutside, "item", "items"))
	case c.Listed == 0 && c.ItemsAll == 0:
		return fmt.Sprintf("%s shows no message at all. If you expect mail, check that the collecting account has "+
			"Full Access delegation on the mailbox (or that the app's access policy includes it); changes can take "+
			"up to 24 hours to apply.", email)
	case c.Listed == 0:
		return fmt.Sprintf("The folders in scope of %s list no message, though the server counts %s in its folders.",
			email, count(c.ItemsAll, "item", "items"))
	case w == nil:
		return fmt.Sprintf("%s holds %s in the folders in scope.", email, count(c.Listed, "message", "messages"))
	}
	by := "received"
	if w.Date == config.DateSent {
		by = "sent"
	}
	msg := fmt.Sprintf("%s holds %s in the folders in scope, none %s in window %q", email,
		count(c.Listed, "message", "messages"), by, w.Name)
	if s := c.Spans[w.Name]; s != nil && !s.Oldest.IsZero() {
		msg += fmt.Sprintf(": the oldest was %s %s, the newest %s", by, s.Oldest.UTC().Format("2006-01-02"),
			s.Newest.UTC().Format("2006-01-02"))
	}
	return msg + ". Check the window's start and end."
}

func count(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
