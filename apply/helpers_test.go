package apply_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/collect-ediscovery/collect/graph/graphsim"
	"github.com/collect-ediscovery/collect/internal/testworld"
	"github.com/collect-ediscovery/collect/store"
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

// collectedManifest is a world whose custodian ann has n messages in her
// inbox, collected: it returns the world, the manifest's path and its bytes.
func collectedManifest(t *testing.T, n int) (*testworld.World, string, []byte) {
	t.Helper()
	w := newWorld(t, graphsim.Config{})
	ann := w.User("ann")
	w.Populate(ann, "inbox", n)
	w.LoadMatterOf(ann)
	w.Apply(w.ApplyablePlan())
	path := filepath.Join(w.Matter.Output.Path, store.ManifestFile)
	full, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return w, path, full
}
