package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/collect-ediscovery/collect/store"
)

const benchMsgSize = 50 << 10

// benchBody returns a 50 KB message body; stamp makes each one distinct so
// nothing is deduplicated.
func benchBody() []byte {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, benchMsgSize)
	for i := range b {
		b[i] = byte(' ' + r.IntN(95))
	}
	return b
}

func stamp(b []byte, i int) { binary.BigEndian.PutUint64(b, uint64(i)) }

func reportMsgs(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkSealEach seals every message on its own: two file-system syncs
// per message, the cost of a batch of one.
func BenchmarkSealEach(b *testing.B) {
	for _, hashes := range [][]string{{"sha256"}, {"sha256", "md5", "sha1"}} {
		b.Run(fmt.Sprint(hashes), func(b *testing.B) {
			s, _ := openStore(b, store.Options{Hashes: hashes})
			body := benchBody()
			ctx := context.Background()
			b.SetBytes(benchMsgSize)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				stamp(body, i)
				if _, err := writeNative(ctx, s, benchMsgSize, streamOf(body)); err != nil {
					b.Fatal(err)
				}
			}
			reportMsgs(b)
		})
	}
}

// BenchmarkSealEachParallel seals one message at a time from 8 goroutines:
// the syncs of different writers overlap.
func BenchmarkSealEachParallel(b *testing.B) {
	s, _ := openStore(b, store.Options{Hashes: []string{"sha256", "md5", "sha1"}})
	var next atomic.Int64
	b.SetBytes(benchMsgSize)
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		body := benchBody()
		for pb.Next() {
			stamp(body, int(next.Add(1)))
			if _, err := writeNative(context.Background(), s, benchMsgSize, streamOf(body)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportMsgs(b)
}

// BenchmarkBaseline hashes and writes the same bytes without the store.
func BenchmarkBaseline(b *testing.B) {
	for _, fsync := range []bool{false, true} {
		b.Run(fmt.Sprint("sha256+write/fsync=", fsync), func(b *testing.B) {
			dir := b.TempDir()
			body := benchBody()
			b.SetBytes(benchMsgSize)
			for i := 0; b.Loop(); i++ {
				stamp(body, i)
				sum := sha256.Sum256(body)
				p := filepath.Join(dir, fmt.Sprintf("%x.eml", sum))
				if !fsync {
					if err := os.WriteFile(p, body, 0o400); err != nil {
						b.Fatal(err)
					}
					continue
				}
				f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o400)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := f.Write(body); err != nil {
					b.Fatal(err)
				}
				if err := f.Sync(); err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
			reportMsgs(b)
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	const n = 500
	s, dir := openStore(b, store.Options{Hashes: []string{"md5", "sha1"}})
	body := benchBody()
	var entries []store.ManifestEntry
	for i := range n {
		stamp(body, i)
		nat, err := writeNative(context.Background(), s, -1, streamOf(body))
		if err != nil {
			b.Fatal(err)
		}
		e := entry(uint64(i+1), "")
		e.SHA256, e.MD5, e.SHA1, e.Size, e.Path = nat.SHA256, nat.MD5, nat.SHA1, nat.Size, nat.Path
		entries = append(entries, e)
	}
	m, err := s.OpenManifest()
	if err != nil {
		b.Fatal(err)
	}
	if err := m.Append(entries); err != nil {
		b.Fatal(err)
	}
	m.Close()
	b.SetBytes(n * benchMsgSize)
	for b.Loop() {
		rep, err := store.Verify(context.Background(), dir, slices.Values(entries), store.VerifyOptions{})
		if err != nil || !rep.OK() {
			b.Fatalf("%+v %v", rep, err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkStageSeal writes 50 KB messages the way apply does: staged by
// 8 writers, sealed in batches of 256 with two file-system syncs each.
func BenchmarkStageSeal(b *testing.B) {
	s, _ := openStore(b, store.Options{Hashes: []string{"sha256"}})
	body := benchBody()
	ctx := context.Background()
	b.SetBytes(benchMsgSize)
	const batch = 256
	pending := make([]*store.Staged, 0, batch)
	for i := 0; b.Loop(); i++ {
		stamp(body, i)
		st, err := s.Stage(ctx, benchMsgSize, streamOf(body))
		if err != nil {
			b.Fatal(err)
		}
		pending = append(pending, st)
		if len(pending) == batch {
			if _, errs := s.Seal(pending); errs[0] != nil {
				b.Fatal(errs[0])
			}
			pending = pending[:0]
		}
	}
	if _, errs := s.Seal(pending); len(errs) > 0 && errs[0] != nil {
		b.Fatal(errs[0])
	}
	reportMsgs(b)
}
