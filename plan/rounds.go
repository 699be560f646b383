package plan

import (
	"context"
	"sync"

	"github.com/collect-ediscovery/collect/graph"
	"golang.org/x/sync/errgroup"
)

// folderReads is how many folders of one mailbox are read at once: Graph
// serves a mailbox at most 4 requests at a time.
const folderReads = 4

const (
	restartReset  = "reset"  // the cursor was forgotten: from scratch
	restartListed = "listed" // the mailbox is full: listed without delta
)

// roundEvent is one step of a folder's round: a page, or the round
// starting over (restart set).
type roundEvent struct {
	page    graph.DeltaPage
	restart string
}

// folderRound carries one folder's round from the request that reads it
// to the differ: events queue up until the differ reaches the folder.
type folderRound struct {
	mu     sync.Mutex
	more   *sync.Cond
	events []roundEvent
	done   bool
	cursor string
	err    error
}

func newFolderRound() *folderRound {
	r := &folderRound{}
	r.more = sync.NewCond(&r.mu)
	return r
}

func (r *folderRound) push(ev roundEvent) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	r.more.Signal()
}

func (r *folderRound) finish(cursor string, err error) {
	r.mu.Lock()
	r.done, r.cursor, r.err = true, cursor, err
	r.mu.Unlock()
	r.more.Signal()
}

// drain hands each event to take in order until the round is over, and
// returns the round's cursor, or the first error of the round or of take.
func (r *folderRound) drain(take func(roundEvent) error) (string, error) {
	for {
		r.mu.Lock()
		for len(r.events) == 0 && !r.done {
			r.more.Wait()
		}
		events := r.events
		r.events = nil
		done, cursor, err := r.done, r.cursor, r.err
		r.mu.Unlock()
		for _, ev := range events {
			if terr := take(ev); terr != nil {
				return "", terr
			}
		}
		if done && len(events) == 0 {
			return cursor, err
		}
	}
}

// readFolders starts the rounds of the folders, at most folderReads at
// once, each from its plan's cursor. stop cancels what is still running
// and waits for it; call it once the rounds are no longer read.
func readFolders(ctx context.Context, src graph.Source, mb graph.Mailbox, folders []graph.Folder, pfs []*Folder) ([]*folderRound, func()) {
	ctx, cancel := context.WithCancel(ctx)
	rounds := make([]*folderRound, len(folders))
	for i := range rounds {
		rounds[i] = newFolderRound()
	}
	var g errgroup.Group
	g.SetLimit(folderReads)
	launched := make(chan struct{})
	go func() {
		defer close(launched)
		for i, f := range folders {
			cursor := pfs[i].Cursor
			g.Go(func() error {
				rounds[i].finish(readRound(ctx, src, mb, f, cursor, rounds[i]))
				return nil
			})
		}
	}()
	return rounds, func() {
		cancel()
		<-launched
		_ = g.Wait()
	}
}

// readRound runs a folder's delta round, again from scratch when the
// server forgot the cursor, and lists the folder when the mailbox is too
// full for delta queries.
func readRound(ctx context.Context, src graph.Source, mb graph.Mailbox, f graph.Folder, cursor string, r *folderRound) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	page := func(p graph.DeltaPage) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		r.push(roundEvent{page: p})
		return nil
	}
	newCursor, err := src.Delta(ctx, mb, f, cursor, page)
	if graph.KindOf(err) == graph.KindSyncStateGone && cursor != "" {
		r.push(roundEvent{restart: restartReset})
		newCursor, err = src.Delta(ctx, mb, f, "", page)
	}
	if graph.KindOf(err) == graph.KindQuotaExceeded {
		r.push(roundEvent{restart: restartListed})
		newCursor, err = "", src.List(ctx, mb, f, page)
	}
	return newCursor, err
}
