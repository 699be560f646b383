package apply

import (
	"context"
	"io"
	"sync/atomic"

	"github.com/collect-ediscovery/collect/graph"
	"github.com/collect-ediscovery/collect/plan"
	"github.com/collect-ediscovery/collect/store"
	"golang.org/x/sync/errgroup"
)

// outcome is what happened to one planned item.
type outcome struct {
	mb     *plan.Mailbox
	folder *folderTrack
	item   plan.Item
	staged *store.Staged // bytes written and hashed, not yet durable
	native store.Native  // set once sealed
	err    error         // nil: collected
}

// fetcher streams planned messages into staged files of the store and
// hands each outcome to the commit.
type fetcher struct {
	st     *store.Store
	src    graph.Source
	opts   *Options
	tracks map[*plan.Folder]*folderTrack
	out    chan<- outcome
}

// all fetches every readable mailbox of the plan, opts.Parallelism at once.
func (f *fetcher) all(ctx context.Context, p *plan.Plan) {
	var pool errgroup.Group
	pool.SetLimit(f.opts.Parallelism)
	for _, mb := range p.Mailboxes {
		if mb.Error != nil {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		pool.Go(func() error {
			f.mailbox(ctx, mb)
			return nil
		})
	}
	pool.Wait()
}

// mailbox fetches the planned messages of one mailbox, opts.Concurrency at
// once. After a failure that no message of the mailbox can escape (access
// denied), the rest fail at once with the same cause.
func (f *fetcher) mailbox(ctx context.Context, mb *plan.Mailbox) {
	var fatal atomic.Pointer[error]
	var pool errgroup.Group
	pool.SetLimit(f.opts.Concurrency)
feed:
	for _, pf := range mb.Folders {
		track := f.tracks[pf]
		for _, it := range pf.Fetch {
			if ctx.Err() != nil {
				break feed
			}
			pool.Go(func() error {
				o := outcome{mb: mb, folder: track, item: it}
				if fe := fatal.Load(); fe != nil {
					o.err = *fe
				} else {
					o.staged, o.err = f.one(ctx, mb, it)
					if o.err != nil && mailboxFatal(graph.KindOf(o.err)) {
						fatal.CompareAndSwap(nil, &o.err)
					}
				}
				f.send(ctx, o)
				return nil
			})
		}
	}
	pool.Wait()
}

// send hands an outcome to the commit. An item that an interruption cut
// short stays planned, neither collected nor failed.
func (f *fetcher) send(ctx context.Context, o outcome) {
	if ctx.Err() != nil && o.err != nil {
		return
	}
	select {
	case f.out <- o:
	case <-ctx.Done():
		if o.staged != nil {
			// Nothing will seal it: it stays planned.
			f.st.Discard(o.staged)
		}
	}
}

// one streams one message into a staged file of the store. The transport
// already retried throttling and server errors; a body cut short, or a
// transient error the transport gave up on, is fetched again here from the
// start after a back-off that doubles.
func (f *fetcher) one(ctx context.Context, mb *plan.Mailbox, it plan.Item) (*store.Staged, error) {
	wait := f.opts.Backoff
	var err error
	for attempt := 1; attempt <= f.opts.FetchAttempts; attempt++ {
		var staged *store.Staged
		staged, err = f.st.Stage(ctx, -1, func(w io.Writer) (int64, error) {
			return f.src.FetchMIME(ctx, mb.Resolved, it.ID, w)
		})
		if err == nil {
			return staged, nil
		}
		// A token refused twice in a row (revoked while requests were in
		// flight) is worth another attempt too: each one asks for a fresh token.
		k := graph.KindOf(err)
		if !(k.Retryable() || k == graph.KindTokenExpired) || attempt == f.opts.FetchAttempts || ctx.Err() != nil {
			break
		}
		select {
		case <-f.opts.After(wait):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		wait *= 2
	}
	return nil, err
}

// mailboxFatal are the kinds after which no other message of the mailbox
// can be fetched either: the rest fail at once with the same cause.
func mailboxFatal(k graph.Kind) bool {
	return k == graph.KindAccessDenied || k == graph.KindMailboxNotEnabled
}

// itemGone reports whether a fetch failed because the message itself is
// gone: a tombstone, not a failure. A mailbox gone since the plan (the
// user was deleted) is classified apart, as not enabled: a failure of
// every item of it, so that no cursor moves past them.
func itemGone(err error) bool {
	return graph.KindOf(err) == graph.KindNotFound
}
