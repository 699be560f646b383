package plan

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/collect-ediscovery/collect/config"
)

// Target is a -target address: a custodian (custodian.jdoe), a mailbox
// (custodian.jdoe.mailbox.primary, mailbox.legal_shared), or a folder of a
// mailbox (custodian.jdoe.mailbox.primary["Inbox/Projects"]).
type Target struct {
	Addr   string
	Folder string // display path or well-known name; empty for the whole address
}

func (t Target) String() string {
	if t.Folder == "" {
		return t.Addr
	}
	return t.Addr + "[" + strconv.Quote(t.Folder) + "]"
}

// ParseTarget reads a -target address and checks it names something in
// the matter.
func ParseTarget(s string, m *config.Matter) (Target, error) {
	var t Target
	addr := s
	if i := strings.IndexByte(s, '['); i >= 0 {
		if !strings.HasSuffix(s, "]") {
			return t, fmt.Errorf("the target %q has an unclosed [: write a folder as %s[\"Inbox/Projects\"]", s, s[:i])
		}
		folder, err := strconv.Unquote(s[i+1 : len(s)-1])
		if err != nil || strings.Trim(folder, "/ ") == "" {
			return t, fmt.Errorf("the folder in target %q must be a quoted display path or well-known name, as in %s[\"Inbox/Projects\"]", s, s[:i])
		}
		addr, t.Folder = s[:i], folder
	}
	t.Addr = addr
	var known []string
	for _, mb := range m.Mailboxes {
		known = append(known, mb.Addr)
		if _, ok := selectTargets([]Target{t}, mb.Addr); ok {
			if t.Folder != "" && addr != mb.Addr {
				return t, fmt.Errorf("a folder target must name a mailbox, such as %s[%q]", mb.Addr, t.Folder)
			}
			return t, nil
		}
	}
	for _, c := range m.Custodians {
		known = append(known, "custodian."+c.Name)
	}
	msg := fmt.Sprintf("the target %q names nothing in the matter", addr)
	if near := Nearest(addr, known, 1); len(near) > 0 {
		msg += DidYouMean(near)
	} else {
		msg += "; addresses look like custodian.jdoe, custodian.jdoe.mailbox.primary or mailbox.legal_shared"
	}
	return t, fmt.Errorf("%s", msg)
}

// selectTargets reports whether a mailbox address is in the targets, and
// which folders of it (nil: all). No targets means everything.
func selectTargets(targets []Target, addr string) ([]string, bool) {
	if len(targets) == 0 {
		return nil, true
	}
	var folders []string
	whole, any := false, false
	for _, t := range targets {
		if t.Addr != addr && !strings.HasPrefix(addr, t.Addr+".") {
			continue
		}
		any = true
		if t.Folder == "" {
			whole = true
		} else {
			folders = append(folders, t.Folder)
		}
	}
	if !any {
		return nil, false
	}
	if whole {
		return nil, true
	}
	return folders, true
}
