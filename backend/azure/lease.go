package azure

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"

	"github.com/collect-ediscovery/collect/backend"
	"github.com/collect-ediscovery/collect/internal/clock"
)

// lockKey is the metadata name under which a leased blob records its
// holder: the backend.LockInfo as JSON, base64-encoded, since metadata
// values are HTTP header values.
const lockKey = "collectlock"

// releaseTimeout bounds the requests that give a lease up when the
// caller's own context has ended: a lease left behind blocks the next run
// until it expires.
const releaseTimeout = 10 * time.Second

// Lock takes a lease on name, creating the blob empty when it does not
// exist, and records info in the blob's metadata under the lease.
func (s *Store) Lock(ctx context.Context, name string, info backend.LockInfo) (backend.Lease, error) {
	if err := checkName(name); err != nil {
		return nil, fmt.Errorf("%s: lock %q: %w", s.name, name, err)
	}
	b := s.blob(name)
	empty := md5.Sum(nil)
	_, err := b.Upload(ctx, streaming.NopCloser(bytes.NewReader(nil)), &blockblob.UploadOptions{
		HTTPHeaders:             &blob.HTTPHeaders{BlobContentMD5: empty[:]},
		AccessConditions:        &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}},
		TransactionalValidation: blob.TransferValidationTypeMD5(empty[:]),
	})
	// A blob already there, leased or not, is what the lease is taken on.
	if err != nil && !bloberror.HasCode(err, bloberror.BlobAlreadyExists, bloberror.ConditionNotMet, bloberror.LeaseIDMissing) {
		return nil, s.fail("lock", name, err)
	}

	lc, err := lease.NewBlobClient(b, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: lock %s: %w", s.name, name, err)
	}
	d := s.cfg.LeaseDuration
	acquired := s.cfg.Clock.Now()
	if _, err := lc.AcquireLease(ctx, int32(d/time.Second), nil); err != nil {
		if bloberror.HasCode(err, bloberror.LeaseAlreadyPresent, bloberror.LeaseIsBreakingAndCannotBeAcquired) {
			holder, _, herr := s.Holder(ctx, name)
			if herr != nil || holder.Path == "" {
				holder.Path = name
			}
			return nil, &backend.HeldError{Name: name, Holder: holder, Store: s.name}
		}
		return nil, s.fail("lock", name, err)
	}

	info.ID = *lc.LeaseID()
	info.Path = name
	if info.Created.IsZero() {
		info.Created = acquired
	}
	l := &blobLease{
		s: s, name: name, b: b, lc: lc, d: d, clock: s.cfg.Clock,
		meta:    map[string]*string{lockKey: to.Ptr(encodeLockInfo(info))},
		renewed: acquired,
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	l.quit, l.cancel = context.WithCancel(context.Background())
	if _, err := b.SetMetadata(ctx, l.meta, &blob.SetMetadataOptions{AccessConditions: l.cond()}); err != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		defer cancel()
		_, _ = lc.ReleaseLease(rctx, nil)
		l.cancel()
		return nil, s.fail("record the holder of", name, err)
	}
	go l.keep()
	return l, nil
}

// Holder reads who holds the lease on name from the blob's lease state
// and metadata. A blob that does not exist is held by no one.
func (s *Store) Holder(ctx context.Context, name string) (backend.LockInfo, bool, error) {
	if err := checkName(name); err != nil {
		return backend.LockInfo{}, false, fmt.Errorf("%s: holder of %q: %w", s.name, name, err)
	}
	p, err := s.blob(name).GetProperties(ctx, nil)
	if notFound(err) {
		return backend.LockInfo{}, false, nil
	}
	if err != nil {
		return backend.LockInfo{}, false, s.fail("read the holder of", name, err)
	}
	state := deref(p.LeaseState)
	if state != lease.StateTypeLeased && state != lease.StateTypeBreaking {
		return backend.LockInfo{}, false, nil
	}
	var info backend.LockInfo
	for k, v := range p.Metadata {
		if v != nil && equalFoldASCII(k, lockKey) {
			info, _ = decodeLockInfo(*v) // a holder that records none is still a holder
		}
	}
	if info.Path == "" {
		info.Path = name
	}
	return info, true, nil
}

func equalFoldASCII(a, b string) bool {
	return len(a) == len(b) && bytes.EqualFold([]byte(a), []byte(b))
}

func encodeLockInfo(info backend.LockInfo) string {
	j, _ := json.Marshal(info) // plain strings and a time: cannot fail
	return base64.StdEncoding.EncodeToString(j)
}

func decodeLockInfo(v string) (backend.LockInfo, error) {
	var info backend.LockInfo
	j, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return info, err
	}
	err = json.Unmarshal(j, &info)
	return info, err
}

// blobLease is a held lease, renewed by keep every third of its duration.
type blobLease struct {
	s     *Store
	name  string
	b     *blockblob.Client
	lc    *lease.BlobClient
	d     time.Duration
	clock clock.Clock
	meta  map[string]*string // the holder's record, rewritten with every Replace

	mu       sync.Mutex
	renewed  time.Time // when the last successful acquire or renew was sent
	err      error     // why the lease is lost; nil while held
	released bool

	stop     chan struct{}
	quit     context.Context // ends a renewal in flight when Release stops them
	cancel   context.CancelFunc
	done     chan struct{}
	stopOnce sync.Once
}

func (l *blobLease) cond() *blob.AccessConditions {
	return &blob.AccessConditions{LeaseAccessConditions: &blob.LeaseAccessConditions{LeaseID: l.lc.LeaseID()}}
}

// leaseGone reports an answer that means the lease is no longer this
// holder's: broken, taken by another, or the blob gone.
func leaseGone(err error) bool {
	return bloberror.HasCode(err,
		bloberror.LeaseIDMismatchWithLeaseOperation, bloberror.LeaseNotPresentWithLeaseOperation,
		bloberror.LeaseIDMismatchWithBlobOperation, bloberror.LeaseNotPresentWithBlobOperation,
		bloberror.LeaseIsBrokenAndCannotBeRenewed, bloberror.LeaseLost, bloberror.LeaseIDMissing,
		bloberror.BlobNotFound)
}

func (l *blobLease) keep() {
	defer close(l.done)
	ticks, stop := l.clock.Tick(l.d / 3)
	defer stop()
	for {
		select {
		case <-l.stop:
			return
		case <-ticks:
		}
		more, err := l.renew()
		if l.s.onRenew != nil {
			l.s.onRenew(err)
		}
		if !more {
			return
		}
	}
}

// renew renews the lease once and says whether to go on.
func (l *blobLease) renew() (more bool, err error) {
	sent := l.clock.Now()
	ctx, cancel := context.WithTimeout(l.quit, l.d/3)
	defer cancel()
	_, err = l.lc.RenewLease(ctx, nil)
	switch {
	case err == nil:
		l.mu.Lock()
		if l.err == nil {
			l.renewed = sent
		}
		l.mu.Unlock()
		return true, nil
	case leaseGone(err):
		l.lose(fmt.Errorf("renewing it: %s (another process broke or took it)", summary(err)))
		return false, err
	default:
		// Unreachable for now: the next tick tries again, and Err tells
		// once the lease has run out.
		return l.Err() == nil, err
	}
}

func (l *blobLease) lose(why error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.err = fmt.Errorf("%s: %s: %w: %v", l.s.name, l.name, backend.ErrLeaseLost, why)
	}
}

// Err says whether the lease is still held: it is lost once broken, or
// once a whole lease duration has passed since the last renewal the
// service accepted.
func (l *blobLease) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil && !l.released {
		if since := l.clock.Now().Sub(l.renewed); since >= l.d {
			l.err = fmt.Errorf("%s: %s: %w: not renewed for %s, longer than the lease's %s (the storage service was unreachable)",
				l.s.name, l.name, backend.ErrLeaseLost, since.Round(time.Second), l.d)
		}
	}
	if l.err == nil && l.released {
		return fmt.Errorf("%s: %s: %w: it was released", l.s.name, l.name, backend.ErrLeaseLost)
	}
	return l.err
}

// Replace writes the whole blob under the lease, keeping the holder's
// record in its metadata.
func (l *blobLease) Replace(ctx context.Context, r io.ReadSeeker, size int64, md5 []byte) error {
	if err := l.Err(); err != nil {
		return err
	}
	err := l.s.put(ctx, l.b, r, size, md5, l.meta, l.cond())
	if err == nil {
		return nil
	}
	if leaseGone(err) {
		l.lose(fmt.Errorf("replacing it: %s", summary(err)))
		return l.Err()
	}
	return l.s.fail("replace", l.name, err)
}

// Release stops the renewals, clears the holder's record and gives the
// lease up. The blob stays.
func (l *blobLease) Release(ctx context.Context) error {
	l.stopOnce.Do(func() {
		close(l.stop)
		l.cancel()
	})
	<-l.done
	l.mu.Lock()
	released := l.released
	l.mu.Unlock()
	if released {
		return nil
	}
	if err := l.Err(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	if _, err := l.b.SetMetadata(ctx, nil, &blob.SetMetadataOptions{AccessConditions: l.cond()}); err != nil {
		if leaseGone(err) {
			l.lose(fmt.Errorf("releasing it: %s", summary(err)))
			return l.Err()
		}
		return l.s.fail("clear the holder of", l.name, err)
	}
	if _, err := l.lc.ReleaseLease(ctx, nil); err != nil {
		if leaseGone(err) {
			l.lose(fmt.Errorf("releasing it: %s", summary(err)))
			return l.Err()
		}
		return l.s.fail("release the lease on", l.name, err)
	}
	l.mu.Lock()
	l.released = true
	l.mu.Unlock()
	return nil
}
