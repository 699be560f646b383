package custody_test

import (
	"testing"

	"github.com/collect-ediscovery/collect/custody"
)

// BenchmarkVerify100k verifies the custody log of 100,000 manifest lines
// and three checkpoints: every line's inclusion proof and the
// consistency proofs.
func BenchmarkVerify100k(b *testing.B) {
	c := collected100k(b)
	b.ResetTimer()
	for range b.N {
		rep, err := custody.Verify(c.dir, custody.VerifyOptions{})
		if err != nil || !rep.OK() {
			b.Fatalf("verify: %v %v", err, rep.Problems)
		}
	}
}

// BenchmarkOpen100k opens the custody log of 100,000 lines as every apply
// does: it reads the manifest once, and hashes nothing after a clean run.
func BenchmarkOpen100k(b *testing.B) {
	c := collected100k(b)
	b.ResetTimer()
	for range b.N {
		if err := c.open(); err != nil {
			b.Fatal(err)
		}
		c.close()
	}
}

func collected100k(b *testing.B) *collection {
	c := newCollection(b)
	for i, n := 0, 0; i < 3; i++ {
		for n < (i+1)*100_000/3 {
			to := min(n+1000, (i+1)*100_000/3)
			c.add(n, to)
			n = to
		}
		c.checkpoint("run" + string(rune('1'+i)))
	}
	c.close()
	return c
}
