package azure

import (
	"testing"

	"github.com/collect-ediscovery/collect/backend"
	"github.com/collect-ediscovery/collect/backend/backendtest"
)

// TestConformance holds the store to the suite every backend passes, on
// one Azurite: one handle per store, a second client on the same
// container as a second process, and the same with every object over
// 64 KiB staged in blocks.
func TestConformance(t *testing.T) {
	t.Parallel()
	e := newEmulator(t)
	for _, tc := range []struct {
		name             string
		putLimit, blocks int64
		second           bool
	}{
		{"one handle", putBlobLimit, blockSize, false},
		{"two clients", putBlobLimit, blockSize, true},
		{"two clients, staged blocks", 64 << 10, 16 << 10, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			open := func(t *testing.T, cfg Config) *Store {
				s := e.store(t, cfg, nil)
				s.putLimit, s.blockSize = tc.putLimit, tc.blocks
				return s
			}
			first := func(t *testing.T) backend.Store {
				return breakable{open(t, e.config(e.container(), "matters/m1")), e}
			}
			if !tc.second {
				backendtest.Run(t, first)
				return
			}
			backendtest.RunShared(t, first, func(t *testing.T, s backend.Store) backend.Store {
				return open(t, s.(breakable).cfg)
			})
		})
	}
}
