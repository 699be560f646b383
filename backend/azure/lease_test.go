package azure

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/collect-ediscovery/collect/backend"
	"github.com/collect-ediscovery/collect/internal/clock"
)

const stateName = "shards/0-of-2/state.db"

func holderInfo(who string) backend.LockInfo {
	return backend.LockInfo{Operation: "apply", Who: who, Version: "test", Created: time.Date(2026, 12, 1, 18, 0, 0, 0, time.UTC)}
}

// clockedLock opens a store on a new container whose leases run on a
// fake clock, and locks stateName once its renewals wait on that clock;
// each renewal tried is sent on renews.
func (e *emulator) clockedLock(t *testing.T, transport policy.Transporter) (s *Store, l backend.Lease, fc *clock.Fake, renews chan error) {
	t.Helper()
	fc = clock.NewFake(time.Date(2026, 12, 1, 18, 0, 0, 0, time.UTC))
	cfg := e.config(e.container(), "")
	cfg.Clock = fc
	s = e.store(t, cfg, transport)
	renews = make(chan error, 10)
	s.onRenew = func(err error) { renews <- err }
	l, err := s.Lock(context.Background(), stateName, holderInfo("ann@host1"))
	if err != nil {
		t.Fatal(err)
	}
	fc.BlockUntil(1)
	return s, l, fc, renews
}

func TestLease(t *testing.T) {
	t.Parallel()
	e := newEmulator(t)
	ctx := context.Background()

	t.Run("lock, held error names the holder, replace, release", func(t *testing.T) {
		s := e.store(t, e.config(e.container(), "m"), nil)
		l, err := s.Lock(ctx, stateName, holderInfo("ann@host1"))
		if err != nil {
			t.Fatal(err)
		}
		info, held, err := s.Holder(ctx, stateName)
		if err != nil || !held || info.Who != "ann@host1" || info.Operation != "apply" || info.Path != stateName || info.ID == "" {
			t.Fatalf("Holder = %+v, %v, %v; want ann's lock on %s with its lease ID", info, held, err, stateName)
		}

		_, err = s.Lock(ctx, stateName, holderInfo("bob@host2"))
		var he *backend.HeldError
		if !errors.As(err, &he) || he.Holder.Who != "ann@host1" || he.Holder.ID != info.ID || he.Name != stateName || he.Store != s.String() {
			t.Fatalf("second Lock: %v; want a HeldError naming ann", err)
		}

		state := bytes.Repeat([]byte("bbolt page "), 50)
		if err := l.Replace(ctx, bytes.NewReader(state), int64(len(state)), sum(state)); err != nil {
			t.Fatal(err)
		}
		rc, err := s.Open(ctx, stateName)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(got, state) {
			t.Errorf("after Replace the blob holds %d bytes, want the %d written", len(got), len(state))
		}
		if info, held, _ := s.Holder(ctx, stateName); !held || info.Who != "ann@host1" {
			t.Errorf("after Replace Holder = %+v, %v; the holder's record must survive the rewrite", info, held)
		}
		if err := l.Replace(ctx, bytes.NewReader(state), int64(len(state)), sum([]byte("else"))); err == nil || errors.Is(err, backend.ErrLeaseLost) {
			t.Errorf("Replace with a wrong MD5: %v; want an MD5 error", err)
		}
		if err := put(t, s, stateName, state, nil); !errors.Is(err, backend.ErrExists) {
			t.Errorf("PutOnce on the locked object: %v, want ErrExists", err)
		}

		if err := l.Release(ctx); err != nil {
			t.Fatal(err)
		}
		if _, held, err := s.Holder(ctx, stateName); held || err != nil {
			t.Errorf("after Release Holder says held=%v (%v)", held, err)
		}
		if err := l.Replace(ctx, bytes.NewReader(state), int64(len(state)), sum(state)); !errors.Is(err, backend.ErrLeaseLost) {
			t.Errorf("Replace after Release: %v, want ErrLeaseLost", err)
		}
		info2, err := s.Stat(ctx, stateName)
		if err != nil || info2.Size != int64(len(state)) || len(info2.Metadata) != 0 {
			t.Errorf("after Release Stat = %+v, %v; the object stays, without the holder's record", info2, err)
		}

		l2, err := s.Lock(ctx, stateName, holderInfo("bob@host2"))
		if err != nil {
			t.Fatalf("Lock after Release: %v", err)
		}
		if err := l2.Release(ctx); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("large replace is staged under the lease", func(t *testing.T) {
		s := e.store(t, e.config(e.container(), ""), nil)
		s.putLimit, s.blockSize = 100, 64
		l, err := s.Lock(ctx, stateName, holderInfo("ann@host1"))
		if err != nil {
			t.Fatal(err)
		}
		defer l.Release(ctx)
		state := bytes.Repeat([]byte("0123456789"), 70)
		if err := l.Replace(ctx, bytes.NewReader(state), int64(len(state)), sum(state)); err != nil {
			t.Fatal(err)
		}
		info, err := s.Stat(ctx, stateName)
		if err != nil || info.Size != int64(len(state)) || !bytes.Equal(info.MD5, sum(state)) {
			t.Errorf("Stat = %+v, %v; want the staged %d bytes", info, err, len(state))
		}
	})

	t.Run("a broken lease is lost", func(t *testing.T) {
		s, l, fc, renews := e.clockedLock(t, nil)
		cfg := s.cfg
		if err := e.breakLease(ctx, s, stateName); err != nil {
			t.Fatal(err)
		}
		fc.Advance(cfg.LeaseDuration / 3)
		select {
		case <-renews:
		case <-time.After(eventually):
			t.Fatal("no renewal was tried")
		}
		if err := l.Err(); !errors.Is(err, backend.ErrLeaseLost) {
			t.Fatalf("Err after the lease was broken: %v, want ErrLeaseLost", err)
		}
		state := []byte("state")
		if err := l.Replace(ctx, bytes.NewReader(state), 5, sum(state)); !errors.Is(err, backend.ErrLeaseLost) {
			t.Errorf("Replace on a broken lease: %v, want ErrLeaseLost", err)
		}
		if err := l.Release(ctx); !errors.Is(err, backend.ErrLeaseLost) {
			t.Errorf("Release of a broken lease: %v, want its Err", err)
		}
	})

	t.Run("replace finds a broken lease before a renewal does", func(t *testing.T) {
		s := e.store(t, e.config(e.container(), ""), nil)
		l, err := s.Lock(ctx, stateName, holderInfo("ann@host1"))
		if err != nil {
			t.Fatal(err)
		}
		if err := e.breakLease(ctx, s, stateName); err != nil {
			t.Fatal(err)
		}
		state := []byte("state")
		if err := l.Replace(ctx, bytes.NewReader(state), 5, sum(state)); !errors.Is(err, backend.ErrLeaseLost) {
			t.Errorf("Replace on a broken lease: %v, want ErrLeaseLost", err)
		}
		if err := l.Err(); !errors.Is(err, backend.ErrLeaseLost) {
			t.Errorf("Err after Replace found the lease broken: %v", err)
		}
		if info, err := s.Stat(ctx, stateName); err != nil || info.Size != 0 {
			t.Errorf("the refused Replace wrote: %+v, %v", info, err)
		}
	})

	t.Run("renewed by a fake clock past its duration", func(t *testing.T) {
		s, l, fc, renews := e.clockedLock(t, nil)
		cfg := s.cfg
		defer l.Release(ctx)
		for i := range 6 { // two lease durations
			fc.Advance(cfg.LeaseDuration / 3)
			select {
			case err := <-renews:
				if err != nil {
					t.Fatalf("renewal %d: %v", i, err)
				}
			case <-time.After(eventually):
				t.Fatalf("renewal %d was not tried", i)
			}
			if err := l.Err(); err != nil {
				t.Fatalf("after renewal %d Err = %v", i, err)
			}
		}
	})

	t.Run("unreachable for longer than the lease lasts", func(t *testing.T) {
		net := &switchable{}
		s, l, fc, _ := e.clockedLock(t, net)
		cfg := s.cfg
		defer l.Release(ctx)
		net.down.Store(true)
		fc.Advance(cfg.LeaseDuration - time.Second)
		if err := l.Err(); err != nil {
			t.Fatalf("Err before the lease ran out: %v", err)
		}
		fc.Advance(time.Second)
		err := l.Err()
		if !errors.Is(err, backend.ErrLeaseLost) {
			t.Fatalf("Err after %s without a renewal: %v, want ErrLeaseLost", cfg.LeaseDuration, err)
		}
		state := []byte("state")
		net.down.Store(false)
		if err := l.Replace(ctx, bytes.NewReader(state), 5, sum(state)); !errors.Is(err, backend.ErrLeaseLost) {
			t.Errorf("Replace on a lease that ran out: %v, want ErrLeaseLost", err)
		}
		if info, err := s.Stat(ctx, stateName); err != nil || info.Size != 0 {
			t.Errorf("Replace on a lost lease wrote: %+v, %v", info, err)
		}
	})
}

// TestLeaseRenewedPastItsDuration holds a lease of Azure's shortest
// duration on the real clock for longer than it lasts: the renewals keep
// it, and another process is still refused.
func TestLeaseRenewedPastItsDuration(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("holds a lease for 20 s")
	}
	e := newEmulator(t)
	ctx := context.Background()
	s := e.store(t, e.config(e.container(), ""), nil)
	l, err := s.Lock(ctx, stateName, holderInfo("ann@host1"))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.After(MinLeaseDuration + 5*time.Second)
	check := time.NewTicker(time.Second)
	defer check.Stop()
	for waiting := true; waiting; {
		select {
		case <-deadline:
			waiting = false
		case <-check.C:
			if err := l.Err(); err != nil {
				t.Fatalf("Err while held: %v", err)
			}
		}
	}
	var he *backend.HeldError
	if _, err := s.Lock(ctx, stateName, holderInfo("bob@host2")); !errors.As(err, &he) || he.Holder.Who != "ann@host1" {
		t.Errorf("Lock by another after %s: %v; want a HeldError naming ann", MinLeaseDuration+5*time.Second, err)
	}
	state := []byte("state")
	if err := l.Replace(ctx, bytes.NewReader(state), 5, sum(state)); err != nil {
		t.Errorf("Replace after %s: %v", MinLeaseDuration+5*time.Second, err)
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
}
