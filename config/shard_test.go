package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseShard(t *testing.T) {
	cases := []struct {
		in      string
		want    Shard
		wantErr string // a substring of the error; "" for none
	}{
		{in: "1/1", want: Shard{1, 1}},
		{in: "2/4", want: Shard{2, 4}},
		{in: "4/4", want: Shard{4, 4}},
		{in: " 3/16 ", want: Shard{3, 16}},
		{in: "1000/1000", want: Shard{1000, 1000}},
		{in: "", wantErr: "-shard=2/4 (the second of four shards)"},
		{in: "2", wantErr: "write it as I/N"},
		{in: "2/", wantErr: "write it as I/N"},
		{in: "/4", wantErr: "write it as I/N"},
		{in: "2-of-4", wantErr: "write it as I/N"},
		{in: "a/b", wantErr: "write it as I/N"},
		{in: "+2/4", wantErr: "write it as I/N"},
		{in: "2/+4", wantErr: "write it as I/N"},
		{in: "2 / 4", wantErr: "write it as I/N"},
		{in: "2/4/8", wantErr: "write it as I/N"},
		{in: "0/4", wantErr: "count from 1, so the first of 4 is 1/4"},
		{in: "5/4", wantErr: "only 4 shards, so the last is 4/4"},
		{in: "1/0", wantErr: "no shards"},
		{in: "-1/4", wantErr: "write it as I/N"},
		{in: "1/1001", wantErr: "at most 1000"},
	}
	for _, c := range cases {
		got, err := ParseShard(c.in)
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("ParseShard(%q): %v", c.in, err)
		case c.wantErr == "" && got != c.want:
			t.Errorf("ParseShard(%q) = %+v, want %+v", c.in, got, c.want)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("ParseShard(%q) = %+v, %v; want an error saying %q", c.in, got, err, c.wantErr)
		case c.wantErr != "" && got != (Shard{}):
			t.Errorf("ParseShard(%q) returned %+v with its error", c.in, got)
		}
	}
}

func TestShardFromEnv(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		want    Shard
		ok      bool
		wantErr string
	}{
		{name: "nothing set", env: nil},
		{name: "indexed job index 0 is the first shard", env: map[string]string{"JOB_COMPLETION_INDEX": "0", "COLLECT_SHARDS": "4"},
			want: Shard{1, 4}, ok: true},
		{name: "indexed job last index", env: map[string]string{"JOB_COMPLETION_INDEX": "3", "COLLECT_SHARDS": "4"},
			want: Shard{4, 4}, ok: true},
		{name: "indexed job without the count", env: map[string]string{"JOB_COMPLETION_INDEX": "2"},
			wantErr: "set COLLECT_SHARDS"},
		{name: "indexed job index past the count", env: map[string]string{"JOB_COMPLETION_INDEX": "4", "COLLECT_SHARDS": "4"},
			wantErr: "must be below COLLECT_SHARDS"},
		{name: "indexed job index not a number", env: map[string]string{"JOB_COMPLETION_INDEX": "x", "COLLECT_SHARDS": "4"},
			wantErr: "not a number"},
		{name: "indexed job count not a number", env: map[string]string{"JOB_COMPLETION_INDEX": "0", "COLLECT_SHARDS": "four"},
			wantErr: "write it as I/N"},
		{name: "COLLECT_SHARD", env: map[string]string{"COLLECT_SHARD": "2/3"}, want: Shard{2, 3}, ok: true},
		{name: "COLLECT_SHARD wins over the job index", env: map[string]string{"COLLECT_SHARD": "2/3", "JOB_COMPLETION_INDEX": "0"},
			want: Shard{2, 3}, ok: true},
		{name: "COLLECT_SHARD agrees with COLLECT_SHARDS", env: map[string]string{"COLLECT_SHARD": "2/3", "COLLECT_SHARDS": "3"},
			want: Shard{2, 3}, ok: true},
		{name: "COLLECT_SHARD disagrees with COLLECT_SHARDS", env: map[string]string{"COLLECT_SHARD": "2/3", "COLLECT_SHARDS": "4"},
			wantErr: "disagree"},
		{name: "COLLECT_SHARD invalid", env: map[string]string{"COLLECT_SHARD": "0/3"}, wantErr: "COLLECT_SHARD: "},
		{name: "a count and no index", env: map[string]string{"COLLECT_SHARDS": "4"}, wantErr: "not which shard"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok, err := ShardFromEnv(func(k string) string { return c.env[k] })
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, c.wantErr)
				}
				if ok {
					t.Error("ok with an error")
				}
				return
			}
			if err != nil || ok != c.ok || got != c.want {
				t.Errorf("ShardFromEnv = %+v, %v, %v; want %+v, %v", got, ok, err, c.want, c.ok)
			}
		})
	}
}

func TestShardNames(t *testing.T) {
	for _, c := range []struct {
		s            Shard
		str, name    string
		sharded, all bool
	}{
		{Shard{}, "", "", false, true},
		{Shard{2, 4}, "2/4", "2-of-4", true, false},
		{Shard{1, 1}, "1/1", "1-of-1", true, true},
	} {
		if c.s.String() != c.str || c.s.Name() != c.name || c.s.Sharded() != c.sharded {
			t.Errorf("%+v: String %q Name %q Sharded %v; want %q %q %v", c.s, c.s.String(), c.s.Name(), c.s.Sharded(), c.str, c.name, c.sharded)
		}
		if back, err := ParseShard(c.s.String()); c.sharded && (err != nil || back != c.s) {
			t.Errorf("ParseShard(%q) = %+v, %v: String must read back", c.s.String(), back, err)
		}
		// The whole matter, or one shard of one, owns every address.
		for _, a := range shardAddresses(20) {
			if c.all && !c.s.Owns(a) {
				t.Errorf("%+v does not own %s", c.s, a)
			}
		}
	}
}

func shardAddresses(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("custodian%04d@contoso.example", i)
	}
	return out
}

// TestShardOwnsPartition checks that the shards of a count split any list
// of addresses exactly, each address in one shard, and about evenly.
func TestShardOwnsPartition(t *testing.T) {
	addrs := shardAddresses(1000)
	for _, n := range []int{1, 2, 3, 4, 16} {
		perShard := make([]int, n)
		for _, a := range addrs {
			owners := 0
			for i := 1; i <= n; i++ {
				if (Shard{i, n}).Owns(a) {
					owners++
					perShard[i-1]++
				}
			}
			if owners != 1 {
				t.Fatalf("N=%d: %s is owned by %d shards, want exactly 1", n, a, owners)
			}
		}
		if n > 4 {
			continue
		}
		even := len(addrs) / n
		for i, got := range perShard {
			if got < even*7/10 || got > even*13/10 {
				t.Errorf("N=%d: shard %d owns %d of %d addresses, want %d±30%%", n, i+1, got, len(addrs), even)
			}
		}
	}
}

func TestShardOwnsIgnoresCaseAndSpace(t *testing.T) {
	for _, n := range []int{2, 3, 7, 16} {
		for _, a := range shardAddresses(50) {
			for i := 1; i <= n; i++ {
				s := Shard{i, n}
				if s.Owns(a) != s.Owns("  "+strings.ToUpper(a)+"\t") || s.Owns(a) != s.Owns(strings.ToUpper(a[:1])+a[1:]) {
					t.Fatalf("%s: the owner of %s changes with its case or surrounding space", s, a)
				}
			}
		}
	}
}

// TestShardOwnsDefinition checks Owns against its definition worked out
// by hand with sha256sum: printf 'jane.doe@contoso.com' | sha256sum
// starts 6f0733d2bb8a63de, which is 8000420243229533150: 0 mod 2,
// 2 mod 3 and 14 mod 16, so shards 1/2, 3/3 and 15/16.
func TestShardOwnsDefinition(t *testing.T) {
	for _, c := range []struct {
		n, owner int // owner counts from 1
	}{{2, 1}, {3, 3}, {16, 15}} {
		for i := 1; i <= c.n; i++ {
			if got := (Shard{i, c.n}).Owns("Jane.Doe@contoso.com"); got != (i == c.owner) {
				t.Errorf("shard %d/%d owns jane.doe@contoso.com = %v, want %v", i, c.n, got, i == c.owner)
			}
		}
	}
}

// TestShardAssignmentGolden pins which shard owns each of a fixed list of
// addresses. A shard that is killed and run again must find the same
// mailboxes it had, whatever version of collect runs it: this file must
// never change. -update rewrites it; a diff in it is a breaking change.
func TestShardAssignmentGolden(t *testing.T) {
	addrs := append(shardAddresses(24),
		"jane.doe@contoso.com", "legal@acme.example", "wei.chen@acme.example", "m.garcia@acme.example",
		"john.smith@acme.example", "someone+tag@sub.domain.example", "x@y.example", "ÿ@unicode.example")
	var b bytes.Buffer
	b.WriteString("# address: the owning shard's index for N = 2 3 4 16 1000\n")
	for _, a := range addrs {
		fmt.Fprintf(&b, "%s:", a)
		for _, n := range []int{2, 3, 4, 16, 1000} {
			owner := 0
			for i := 1; i <= n; i++ {
				if (Shard{i, n}).Owns(a) {
					owner = i
				}
			}
			fmt.Fprintf(&b, " %d", owner)
		}
		b.WriteString("\n")
	}
	golden := filepath.Join("testdata", "shards.golden")
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("the shard of an address changed: a shard run again would not find its mailboxes.\n--- got\n%s\n--- want\n%s", b.Bytes(), want)
	}
}

// shardedMatter is a matter with many custodians and shared mailboxes
// that name custodians, so that a shard's mailboxes name custodians whose
// own mailbox is in another shard.
func shardedMatter(t *testing.T) *Matter {
	t.Helper()
	var src strings.Builder
	src.WriteString("matter \"m\" {}\ntenant {\n  cloud = \"demo\"\n}\nwindow \"w\" {\n  start = \"2024-01-01\"\n}\n")
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&src, "custodian \"c%02d\" {\n  email = \"person%02d@contoso.example\"\n  windows = [window.w]\n}\n", i, i)
	}
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&src, "mailbox \"shared%02d\" {\n  address = \"shared%02d@contoso.example\"\n  custodians = [custodian.c%02d, custodian.c%02d]\n}\n", i, i, i, 39-i)
	}
	dir := t.TempDir()
	write(t, dir, "m.collect.hcl", src.String())
	return mustLoad(t, dir, LoadOptions{})
}

func TestForShard(t *testing.T) {
	m := shardedMatter(t)
	full := m.Hash()
	before := len(m.Mailboxes)

	if c := m.ForShard(Shard{}); c.Hash() != full || len(c.Mailboxes) != before {
		t.Errorf("not sharded: %d mailboxes, hash %s; want every one of %d and the matter's hash", len(c.Mailboxes), c.Hash(), before)
	}
	for _, n := range []int{1, 3, 4} {
		seen := map[string]int{}
		hashes := map[string]bool{}
		for i := 1; i <= n; i++ {
			s := Shard{i, n}
			c := m.ForShard(s)
			if c.Name != m.Name || c.Tenant != m.Tenant || c.Output.Path != m.Output.Path || c.State != m.State ||
				!slices.Equal(c.Output.Hashes, m.Output.Hashes) || c.RecollectChanged != m.RecollectChanged ||
				c.Backend != m.Backend || c.Dir != m.Dir || len(c.Windows) != len(m.Windows) {
				t.Errorf("%s: the copy changed what is not a mailbox", s)
			}
			if len(c.Custodians) != len(m.Custodians) {
				t.Errorf("%s: %d custodians, want all %d kept", s, len(c.Custodians), len(m.Custodians))
			}
			known := map[string]bool{}
			for _, cu := range c.Custodians {
				known[cu.Name] = true
			}
			for _, mb := range c.Mailboxes {
				if !s.Owns(mb.Email) {
					t.Errorf("%s holds %s, which it does not own", s, mb.Email)
				}
				if c.Mailbox(mb.Addr) != mb {
					t.Errorf("%s: Mailbox(%q) does not find it", s, mb.Addr)
				}
				for _, name := range mb.Custodians {
					if !known[name] {
						t.Errorf("%s: %s names the custodian %q, which the copy does not have", s, mb.Addr, name)
					}
				}
				seen[mb.Addr]++
			}
			// The copy's hash is that of exactly its mailboxes: a matter
			// written with only them hashes the same.
			if n > 1 && c.Hash() == full {
				t.Errorf("%s: the hash of a part equals the whole matter's", s)
			}
			hashes[c.Hash()] = true
			if again := m.ForShard(s); again.Hash() != c.Hash() {
				t.Errorf("%s: two copies hash differently", s)
			}
		}
		if n > 1 && len(hashes) != n {
			t.Errorf("N=%d: %d distinct hashes, want one per shard", n, len(hashes))
		}
		for _, mb := range m.Mailboxes {
			if seen[mb.Addr] != 1 {
				t.Errorf("N=%d: %s is in %d shards, want exactly 1", n, mb.Addr, seen[mb.Addr])
			}
		}
		if len(seen) != before {
			t.Errorf("N=%d: the shards hold %d mailboxes, want %d", n, len(seen), before)
		}
	}
	if len(m.Mailboxes) != before || m.Hash() != full {
		t.Error("ForShard changed the matter it copied")
	}
	// A copy's mailboxes are its own.
	c := m.ForShard(Shard{1, 2})
	if len(c.Mailboxes) == 0 {
		t.Fatal("shard 1/2 of 50 mailboxes holds none")
	}
	c.Mailboxes[0].Custodians[0] = "changed"
	if m.Mailbox(c.Mailboxes[0].Addr).Custodians[0] == "changed" {
		t.Error("changing the copy's mailbox changed the matter's")
	}
}

// TestForShardHashIsItsScope checks that a shard's copy hashes as a
// matter declaring only its mailboxes would.
func TestForShardHashIsItsScope(t *testing.T) {
	const head = "matter \"m\" {}\ntenant {\n  cloud = \"demo\"\n}\nwindow \"w\" {\n  start = \"2024-01-01\"\n}\n"
	custodian := func(i int) string {
		return fmt.Sprintf("custodian \"c%02d\" {\n  email = \"person%02d@contoso.example\"\n  windows = [window.w]\n}\n", i, i)
	}
	all := head
	for i := 0; i < 12; i++ {
		all += custodian(i)
	}
	dir := t.TempDir()
	write(t, dir, "m.collect.hcl", all)
	m := mustLoad(t, dir, LoadOptions{})
	s := Shard{2, 3}
	only := head
	for i := 0; i < 12; i++ {
		if s.Owns(fmt.Sprintf("person%02d@contoso.example", i)) {
			only += custodian(i)
		}
	}
	dir2 := t.TempDir()
	write(t, dir2, "m.collect.hcl", only)
	want := mustLoad(t, dir2, LoadOptions{})
	want.Dir = m.Dir
	want.Output, want.State = m.Output, m.State
	if got := m.ForShard(s).Hash(); got != want.Hash() {
		t.Errorf("ForShard(%s).Hash() = %s, want %s, the hash of a matter with only its mailboxes", s, got, want.Hash())
	}
}
