package azure

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/lease"

	"github.com/collect-ediscovery/collect/internal/azurite"
)

// emulator is one Azurite for a test, and a container per store opened
// on it.
type emulator struct {
	t     testing.TB
	conn  string
	count atomic.Int64
}

func newEmulator(t testing.TB) *emulator {
	return &emulator{t: t, conn: azurite.Start(t)}
}

// container makes a new empty container and returns its name.
func (e *emulator) container() string {
	e.t.Helper()
	name := fmt.Sprintf("collection%d", e.count.Add(1))
	c, err := container.NewClientFromConnectionString(e.conn, name, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := c.Create(context.Background(), nil); err != nil {
		e.t.Fatalf("creating container %s: %v", name, err)
	}
	return name
}

func (e *emulator) config(containerName, prefix string) Config {
	return Config{ConnectionString: e.conn, Container: containerName, Prefix: prefix, LeaseDuration: MinLeaseDuration}
}

// store opens a store for cfg, sending its requests through transport
// when that is not nil.
func (e *emulator) store(t testing.TB, cfg Config, transport policy.Transporter) *Store {
	t.Helper()
	s, err := open(context.Background(), cfg, transport)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

// breakLease breaks the lease on name at once from a second client, as an
// operator running `az storage blob lease break` would.
func (e *emulator) breakLease(ctx context.Context, s *Store, name string) error {
	c, err := container.NewClientFromConnectionString(e.conn, s.cfg.Container, nil)
	if err != nil {
		return err
	}
	lc, err := lease.NewBlobClient(c.NewBlockBlobClient(s.cfg.Prefix+name), nil)
	if err != nil {
		return err
	}
	_, err = lc.BreakLease(ctx, &lease.BlobBreakOptions{BreakPeriod: to.Ptr(int32(0))})
	return err
}

// breakable is a store whose leases the conformance suite can break from
// outside (backendtest.Breaker).
type breakable struct {
	*Store
	e *emulator
}

func (b breakable) Break(ctx context.Context, name string) error {
	return b.e.breakLease(ctx, b.Store, name)
}

// switchable is a transport that can be cut off, as a network that drops.
type switchable struct{ down atomic.Bool }

func (s *switchable) Do(req *http.Request) (*http.Response, error) {
	if s.down.Load() {
		return nil, errors.New("dial tcp: connection refused (the test cut the network)")
	}
	return http.DefaultClient.Do(req)
}

func sum(p []byte) []byte {
	s := md5.Sum(p)
	return s[:]
}

func put(t testing.TB, s *Store, name string, p []byte, meta map[string]string) error {
	t.Helper()
	return s.PutOnce(context.Background(), name, bytes.NewReader(p), int64(len(p)), sum(p), meta)
}

// eventually is how long a test waits for the renewal goroutine to
// report; it is a bound on a hang, not a sleep.
const eventually = 30 * time.Second
