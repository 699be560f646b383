package azure

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/collect-ediscovery/collect/backend"
)

// writePaths are the two ways PutOnce writes: one Put Blob, and staged
// blocks committed at once (made to happen here with small limits).
var writePaths = []struct {
	name             string
	putLimit, blocks int64
}{
	{"one put blob", putBlobLimit, blockSize},
	{"staged blocks", 100, 64},
}

func TestStore(t *testing.T) {
	t.Parallel()
	e := newEmulator(t)
	ctx := context.Background()

	for _, wp := range writePaths {
		newStore := func(t *testing.T, prefix string) *Store {
			s := e.store(t, e.config(e.container(), prefix), nil)
			s.putLimit, s.blockSize = wp.putLimit, wp.blocks
			return s
		}
		t.Run(wp.name+"/put once and read back", func(t *testing.T) {
			s := newStore(t, "matters/m1")
			body := bytes.Repeat([]byte("From: a@example.com\r\n\r\nhello\r\n"), 20) // 620 bytes: 10 blocks of 64
			meta := map[string]string{"custodian": "a@example.com", "messageid": "AAMk1"}
			if err := put(t, s, "natives/ab/abc.eml", body, meta); err != nil {
				t.Fatal(err)
			}
			info, err := s.Stat(ctx, "natives/ab/abc.eml")
			if err != nil {
				t.Fatal(err)
			}
			if info.Name != "natives/ab/abc.eml" || info.Size != int64(len(body)) || !bytes.Equal(info.MD5, sum(body)) || info.Modified.IsZero() {
				t.Errorf("Stat = %+v; want the name relative to the prefix, size %d and the MD5 of the bytes", info, len(body))
			}
			if fmt.Sprint(info.Metadata) != fmt.Sprint(meta) {
				t.Errorf("metadata = %v, want %v", info.Metadata, meta)
			}
			rc, err := s.Open(ctx, "natives/ab/abc.eml")
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || !bytes.Equal(got, body) {
				t.Errorf("read back %d bytes (%v), want the %d written", len(got), err, len(body))
			}
		})

		t.Run(wp.name+"/second write of a name is refused", func(t *testing.T) {
			s := newStore(t, "")
			first := bytes.Repeat([]byte("first "), 30)
			if err := put(t, s, "layout.json", first, nil); err != nil {
				t.Fatal(err)
			}
			err := put(t, s, "layout.json", bytes.Repeat([]byte("second"), 30), nil)
			if !errors.Is(err, backend.ErrExists) {
				t.Fatalf("second PutOnce: %v, want ErrExists", err)
			}
			info, err := s.Stat(ctx, "layout.json")
			if err != nil || !bytes.Equal(info.MD5, sum(first)) {
				t.Errorf("after the refused write Stat = %+v, %v; want the first bytes kept", info, err)
			}
		})

		t.Run(wp.name+"/wrong md5 writes nothing", func(t *testing.T) {
			s := newStore(t, "")
			body := bytes.Repeat([]byte("x"), 300)
			err := s.PutOnce(ctx, "natives/cd/cde.eml", bytes.NewReader(body), int64(len(body)), sum([]byte("other bytes")), nil)
			if err == nil {
				t.Fatal("PutOnce with a wrong MD5 succeeded")
			}
			if errors.Is(err, backend.ErrExists) {
				t.Errorf("wrong MD5 reported as ErrExists: %v", err)
			}
			if _, err := s.Stat(ctx, "natives/cd/cde.eml"); !errors.Is(err, backend.ErrNotFound) {
				t.Errorf("after a wrong MD5, Stat: %v; want ErrNotFound (no blob)", err)
			}
		})

		t.Run(wp.name+"/bytes from the reader's offset", func(t *testing.T) {
			s := newStore(t, "")
			all := []byte(strings.Repeat("header-", 10) + strings.Repeat("payload", 40))
			r := bytes.NewReader(all)
			if _, err := r.Seek(70, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			want := all[70:]
			if err := s.PutOnce(ctx, "runs/r1.json", r, int64(len(want)), sum(want), nil); err != nil {
				t.Fatal(err)
			}
			info, err := s.Stat(ctx, "runs/r1.json")
			if err != nil || info.Size != int64(len(want)) || !bytes.Equal(info.MD5, sum(want)) {
				t.Errorf("Stat = %+v, %v; want the %d bytes after the offset", info, err, len(want))
			}
		})

		t.Run(wp.name+"/eight writers of one name, one wins", func(t *testing.T) {
			s := newStore(t, "")
			const writers = 8
			errs := make([]error, writers)
			bodies := make([][]byte, writers)
			var wg sync.WaitGroup
			for i := range writers {
				bodies[i] = bytes.Repeat(fmt.Appendf(nil, "writer %d ", i), 40)
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[i] = put(t, s, "natives/ef/ef0.eml", bodies[i], nil)
				}()
			}
			wg.Wait()
			winner := -1
			for i, err := range errs {
				switch {
				case err == nil && winner >= 0:
					t.Errorf("writers %d and %d both succeeded", winner, i)
				case err == nil:
					winner = i
				case !errors.Is(err, backend.ErrExists):
					t.Errorf("writer %d: %v, want nil or ErrExists", i, err)
				}
			}
			if winner < 0 {
				t.Fatalf("no writer succeeded: %v", errs)
			}
			rc, err := s.Open(ctx, "natives/ef/ef0.eml")
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(rc)
			rc.Close()
			if !bytes.Equal(got, bodies[winner]) {
				t.Errorf("the blob holds %q..., not the winner's bytes", got[:min(len(got), 20)])
			}
		})
	}

	t.Run("missing objects", func(t *testing.T) {
		s := e.store(t, e.config(e.container(), "p"), nil)
		if _, err := s.Stat(ctx, "natives/00/none.eml"); !errors.Is(err, backend.ErrNotFound) {
			t.Errorf("Stat: %v, want ErrNotFound", err)
		}
		if _, err := s.Open(ctx, "natives/00/none.eml"); !errors.Is(err, backend.ErrNotFound) {
			t.Errorf("Open: %v, want ErrNotFound", err)
		}
	})

	t.Run("bad names and metadata", func(t *testing.T) {
		s := e.store(t, e.config(e.container(), ""), nil)
		for _, name := range []string{"", "/abs", "a//b", "a/../b", "trailing/", `back\slash`} {
			if err := put(t, s, name, []byte("x"), nil); err == nil {
				t.Errorf("PutOnce(%q) succeeded", name)
			}
		}
		for _, meta := range []map[string]string{{"Upper": "x"}, {"with-dash": "x"}, {"1digit": "x"}, {lockKey: "x"}, {"ok": "caf\u00e9"}} {
			if err := put(t, s, "m.json", []byte("x"), meta); err == nil {
				t.Errorf("PutOnce with metadata %v succeeded", meta)
			}
		}
		if err := s.List(ctx, "", func(i backend.Info) error { return fmt.Errorf("found %s", i.Name) }); err != nil {
			t.Errorf("refused writes left a blob: %v", err)
		}
	})

	t.Run("list under the prefix in lexical order", func(t *testing.T) {
		c := e.container()
		s := e.store(t, e.config(c, "matters/m1/"), nil)
		other := e.store(t, e.config(c, "matters/m10"), nil)
		names := []string{"shards/0-of-2/runs/b.json", "natives/ff/f.eml", "natives/0a/a.eml", "layout.json", "natives/0a/b.eml"}
		for _, n := range names {
			if err := put(t, s, n, []byte(n), map[string]string{"name": strings.ReplaceAll(n, "/", "_")}); err != nil {
				t.Fatal(err)
			}
		}
		if err := put(t, other, "natives/0a/z.eml", []byte("other matter"), nil); err != nil {
			t.Fatal(err)
		}
		var got []string
		if err := s.List(ctx, "", func(i backend.Info) error {
			got = append(got, i.Name)
			if i.Size != int64(len(i.Name)) || !bytes.Equal(i.MD5, sum([]byte(i.Name))) || i.Metadata["name"] != strings.ReplaceAll(i.Name, "/", "_") {
				t.Errorf("listed %+v; want its size, MD5 and metadata", i)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		want := slices.Sorted(slices.Values(names))
		if !slices.Equal(got, want) {
			t.Errorf("List = %v, want %v (this prefix only, sorted)", got, want)
		}
		got = nil
		if err := s.List(ctx, "natives/0a/", func(i backend.Info) error { got = append(got, i.Name); return nil }); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, []string{"natives/0a/a.eml", "natives/0a/b.eml"}) {
			t.Errorf("List(natives/0a/) = %v", got)
		}
		stop := errors.New("enough")
		n := 0
		err := s.List(ctx, "", func(backend.Info) error { n++; return stop })
		if !errors.Is(err, stop) || n != 1 {
			t.Errorf("List with a failing fn: %v after %d calls; want fn's error after 1", err, n)
		}
	})
}
