package apply

import (
	"sync"
	"sync/atomic"

	"github.com/collect-ediscovery/collect/internal/record"
)

// Counters count work as it goes; safe to read while it runs.
type Counters struct {
	Planned    atomic.Int64
	Collected  atomic.Int64
	Bytes      atomic.Int64
	Tombstoned atomic.Int64
	Failed     atomic.Int64
	Unchanged  atomic.Int64 // planned as changed, fetched, and found as collected before
}

// Snapshot reads the counters as the counts of a run record.
func (c *Counters) Snapshot() record.Counts {
	n := record.Counts{
		Planned: c.Planned.Load(), Collected: c.Collected.Load(), Bytes: c.Bytes.Load(),
		Tombstoned: c.Tombstoned.Load(), Failed: c.Failed.Load(), Unchanged: c.Unchanged.Load(),
	}
	n.Remaining = n.Planned - n.Collected - n.Unchanged - n.Tombstoned - n.Failed
	return n
}

func (c *Counters) add(d record.Counts) {
	c.Collected.Add(d.Collected)
	c.Bytes.Add(d.Bytes)
	c.Tombstoned.Add(d.Tombstoned)
	c.Failed.Add(d.Failed)
	c.Unchanged.Add(d.Unchanged)
}

// Progress counts an apply's work in total and per mailbox.
type Progress struct {
	Counters
	mu        sync.Mutex
	mailboxes []*MailboxProgress
	byAddr    map[string]*MailboxProgress
}

// MailboxProgress is one mailbox's share of the work.
type MailboxProgress struct {
	Addr, ID string
	Counters
}

// Mailbox returns the counters of one mailbox, creating them.
func (p *Progress) Mailbox(addr, id string) *MailboxProgress {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byAddr == nil {
		p.byAddr = map[string]*MailboxProgress{}
	}
	if m := p.byAddr[addr]; m != nil {
		return m
	}
	m := &MailboxProgress{Addr: addr, ID: id}
	p.byAddr[addr] = m
	p.mailboxes = append(p.mailboxes, m)
	return m
}

// Mailboxes lists the mailboxes in the order they were planned.
func (p *Progress) Mailboxes() []*MailboxProgress {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*MailboxProgress(nil), p.mailboxes...)
}
