package apply_test

import (
	"testing"

	"github.com/collect-ediscovery/collect/graph/graphsim"
	"github.com/collect-ediscovery/collect/internal/testworld"
)

var (
	addr = testworld.Addr
	day  = testworld.Day
	now  = testworld.Now
)

// newWorld is the shared test world with the mail these tests were written
// for: seed 5, in delta pages of 50.
func newWorld(t testing.TB, cfg graphsim.Config) *testworld.World {
	return testworld.New(t, cfg, 5, 50)
}
