package store_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/store"
)

// collection is an output folder with natives and manifest lines, and the
// state's view of it (entries).
type collection struct {
	dir     string
	entries []store.ManifestEntry
}

// newCollection collects n messages plus one more item whose bytes equal
// message 0 (stored once), and appends every item to the manifest.
func newCollection(t *testing.T, n int) *collection {
	t.Helper()
	s, dir := openStore(t, store.Options{Hashes: []string{"md5", "sha1"}})
	c := &collection{dir: dir}
	for i := 0; i <= n; i++ {
		body := fmt.Appendf(nil, "Message-ID: <%d@contoso.com>\r\nSubject: message %d\r\n\r\n%s\r\n", i%n, i%n, strings.Repeat("body ", 100+i%n))
		nat, err := writeNative(context.Background(), s, int64(len(body)), streamOf(body))
		if err != nil {
			t.Fatal(err)
		}
		if (i == n) != nat.Deduplicated {
			t.Fatalf("item %d: deduplicated=%v", i, nat.Deduplicated)
		}
		c.entries = append(c.entries, store.ManifestEntry{
			Seq: uint64(i + 1), RunID: "run-1", Custodians: []string{"jdoe"}, Mailbox: "jane.doe@contoso.com",
			Folder: "Inbox", GraphID: fmt.Sprintf("AAMk-%d", i), InternetMessageID: fmt.Sprintf("<%d@contoso.com>", i%n),
			SHA256: nat.SHA256, MD5: nat.MD5, SHA1: nat.SHA1, Size: nat.Size, Path: nat.Path,
			Received: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), Subject: fmt.Sprintf("message %d", i%n),
			CollectedAt: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC),
		})
	}
	m, err := s.OpenManifest()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Append(c.entries); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *collection) verify(t *testing.T) store.Report {
	t.Helper()
	rep, err := store.Verify(context.Background(), c.dir, slices.Values(c.entries), store.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func (c *collection) abs(rel string) string { return filepath.Join(c.dir, filepath.FromSlash(rel)) }

// rewriteManifest edits manifest.jsonl the way a careless user or tool might.
func (c *collection) rewriteManifest(t *testing.T, edit func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(c.abs("manifest.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.abs("manifest.jsonl"), edit(b), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyIntactCollection(t *testing.T) {
	c := newCollection(t, 5)
	rep := c.verify(t)
	if !rep.OK() || rep.Items != 6 || rep.Natives != 5 || rep.Verified != 5 || rep.ManifestLines != 6 {
		t.Fatalf("report %+v", rep)
	}
	var bytes int64
	for _, e := range c.entries[:5] {
		bytes += e.Size
	}
	if rep.Bytes != bytes {
		t.Fatalf("hashed %d bytes, want %d", rep.Bytes, bytes)
	}
}

func TestVerifyFindsProblems(t *testing.T) {
	for name, tc := range map[string]struct {
		damage func(t *testing.T, c *collection)
		check  func(t *testing.T, c *collection, rep store.Report)
	}{
		"changed byte": {
			damage: func(t *testing.T, c *collection) {
				p := c.abs(c.entries[2].Path)
				os.Chmod(p, 0o600)
				b, _ := os.ReadFile(p)
				b[len(b)/2] ^= 0x20
				os.WriteFile(p, b, 0o400)
			},
			check: func(t *testing.T, c *collection, rep store.Report) {
				// One changed file is one problem, naming each field that differs.
				var problems []string
				for _, p := range rep.Changed {
					if p.Path != c.entries[2].Path {
						t.Errorf("unexpected problem %v", p)
					}
					for _, f := range p.Fields {
						problems = append(problems, f.Field)
					}
				}
				if len(rep.Changed) != 1 || !slices.Equal(problems, []string{"sha256", "md5", "sha1"}) || rep.Verified != 4 {
					t.Errorf("problems %v in %d, verified %d", problems, len(rep.Changed), rep.Verified)
				}
			},
		},
		"truncated native": {
			damage: func(t *testing.T, c *collection) {
				p := c.abs(c.entries[1].Path)
				os.Chmod(p, 0o600)
				os.Truncate(p, 10)
			},
			check: func(t *testing.T, c *collection, rep store.Report) {
				if len(rep.Changed) != 1 || rep.Changed[0].FieldNames() != "size, sha256, md5, sha1" || !slices.ContainsFunc(rep.Changed[0].Fields, func(d store.FieldDiff) bool {
					return d.Field == "size" && d.Got == "10" && d.Want == fmt.Sprint(c.entries[1].Size)
				}) {
					t.Errorf("changed %v", rep.Changed)
				}
			},
		},
		"deleted native": {
			damage: func(t *testing.T, c *collection) { os.Remove(c.abs(c.entries[0].Path)) },
			check: func(t *testing.T, c *collection, rep store.Report) {
				// Items 1 and 6 share this native; it is reported once.
				if !slices.Equal(rep.Missing, []string{c.entries[0].Path}) || len(rep.Changed) != 0 {
					t.Errorf("missing %v changed %v", rep.Missing, rep.Changed)
				}
			},
		},
		"unexpected files": {
			damage: func(t *testing.T, c *collection) {
				shard := filepath.Dir(c.entries[0].Path)
				os.WriteFile(c.abs(shard+"/notes.txt"), []byte("x"), 0o600)
				os.WriteFile(c.abs("natives/stray.eml"), []byte("x"), 0o600)
				os.MkdirAll(c.abs("natives/zz"), 0o700)
				os.WriteFile(c.abs("natives/.tmp/unknown"), []byte("x"), 0o600)
				// A well-named native the state does not know.
				other := store.NativePath(strings.Repeat("ab", 32))
				os.MkdirAll(filepath.Dir(c.abs(other)), 0o700)
				os.WriteFile(c.abs(other), []byte("x"), 0o400)
			},
			check: func(t *testing.T, c *collection, rep store.Report) {
				want := []string{
					filepath.Dir(c.entries[0].Path) + "/notes.txt", "natives/.tmp/unknown",
					store.NativePath(strings.Repeat("ab", 32)), "natives/stray.eml", "natives/zz",
				}
				slices.Sort(want)
				if !slices.Equal(rep.Unexpected, want) || rep.Verified != 5 {
					t.Errorf("unexpected %v\nwant %v", rep.Unexpected, want)
				}
			},
		},
		"manifest line edited": {
			damage: func(t *testing.T, c *collection) {
				c.rewriteManifest(t, func(b []byte) []byte {
					return bytes.Replace(b, []byte(`"subject":"message 3"`), []byte(`"subject":"message 33"`), 1)
				})
			},
			check: func(t *testing.T, c *collection, rep store.Report) {
				if len(rep.Manifest) != 1 || rep.Manifest[0].Seq != 4 || rep.Manifest[0].Line != 4 ||
					!strings.Contains(rep.Manifest[0].Problem, `in subject (the line says message 33, the state message 3)`) ||
					len(rep.Manifest[0].Fields) != 1 || rep.Manifest[0].Fields[0].Field != "subject" {
					t.Errorf("manifest problems %v", rep.Manifest)
				}
			},
		},
		"manifest size differs": {
			damage: func(t *testing.T, c *collection) {
				c.rewriteManifest(t, func(b []byte) []byte {
					return bytes.Replace(b, fmt.Appendf(nil, `"size":%d`, c.entries[2].Size), []byte(`"size":1`), 1)
				})
			},
			check: func(t *testing.T, c *collection, rep store.Report) {
				if len(rep.Manifest) != 1 || !strings.Contains(rep.Manifest[0].Problem, "in size") {
					t.Errorf("manifest problems %v", rep.Manifest)
				}
			},
		},
		"state ahead of manifest": {
			damage: func(t *testing.T, c *collection) {
				// The state committed seq 7 but the crash came before the manifest append.
				e := c.entries[1]
				e.Seq, e.GraphID = 7, "AAMk-copy"
				c.entries = append(c.entries, e)
			},
			check: func(t *testing.T, c *collection, rep store.Report) {
				if len(rep.Manifest) != 1 || rep.Manifest[0].Seq != 7 || rep.Manifest[0].Line != 0 {
					t.Errorf("manifest problems %v", rep.Manifest)
				}
			},
		},
		"line lost from the middle": {
			damage: func(t *testing.T, c *collection) {
				c.rewriteManifest(t, func(b []byte) []byte {
					lines := bytes.SplitAfter(b, []byte("\n"))
					return bytes.Join(append(lines[:2:2], lines[3:]...), nil)
				})
			},
			check: func(t *testing.T, c *collection, rep store.Report) {
				// Apply appends only after the last line: it must not be promised.
				if len(rep.Manifest) != 1 || rep.Manifest[0].Seq != 3 || strings.Contains(rep.Manifest[0].Problem, "appends") ||
					!strings.Contains(rep.Manifest[0].Problem, "does not restore") {
					t.Errorf("manifest problems %v", rep.Manifest)
				}
			},
		},
		"duplicate line": {
			damage: func(t *testing.T, c *collection) {
				c.rewriteManifest(t, func(b []byte) []byte {
					first := b[:bytes.IndexByte(b, '\n')+1]
					return append(b, first...)
				})
			},
			check: func(t *testing.T, c *collection, rep store.Report) {
				if len(rep.Manifest) != 2 || rep.Manifest[0].Line != 7 || rep.Manifest[1].Line != 7 ||
					!slices.ContainsFunc(rep.Manifest, func(p store.ManifestProblem) bool { return strings.Contains(p.Problem, "duplicate of line 1") }) {
					t.Errorf("manifest problems %v", rep.Manifest)
				}
			},
		},
		"line the state does not know": {
			damage: func(t *testing.T, c *collection) { c.entries = c.entries[:5] },
			check: func(t *testing.T, c *collection, rep store.Report) {
				if len(rep.Manifest) != 1 || rep.Manifest[0].Seq != 6 || !strings.Contains(rep.Manifest[0].Problem, "no such item") {
					t.Errorf("manifest problems %v", rep.Manifest)
				}
			},
		},
		"torn final line": {
			damage: func(t *testing.T, c *collection) {
				c.rewriteManifest(t, func(b []byte) []byte { return append(b, `{"seq":7,"run`...) })
			},
			check: func(t *testing.T, c *collection, rep store.Report) {
				if len(rep.Manifest) != 1 || !strings.Contains(rep.Manifest[0].Problem, "incomplete line") {
					t.Errorf("manifest problems %v", rep.Manifest)
				}
			},
		},
		"state contradicts itself": {
			damage: func(t *testing.T, c *collection) {
				c.entries = append(c.entries, c.entries[0])
			},
			check: func(t *testing.T, c *collection, rep store.Report) {
				if len(rep.State) != 1 || !strings.Contains(rep.State[0], "more than once") {
					t.Errorf("state problems %v", rep.State)
				}
			},
		},
	} {
		t.Run(name, func(t *testing.T) {
			c := newCollection(t, 5)
			tc.damage(t, c)
			rep := c.verify(t)
			if rep.OK() {
				t.Fatalf("OK() is true after damage: %+v", rep)
			}
			tc.check(t, c, rep)
		})
	}
}

func TestVerifyLeftoverTempIsReportedButNotWrong(t *testing.T) {
	c := newCollection(t, 3)
	os.WriteFile(c.abs("natives/.tmp/.partial-XYZ"), []byte("half"), 0o600)
	rep := c.verify(t)
	if !rep.OK() || !slices.Equal(rep.LeftoverTemps, []string{"natives/.tmp/.partial-XYZ"}) {
		t.Fatalf("report %+v", rep)
	}
}

// With an apply running, what it did after the snapshot of its state is
// its work in flight, not damage; damage older than the snapshot still is.
func TestVerifyWhileApplyRuns(t *testing.T) {
	c := newCollection(t, 5)
	os.WriteFile(c.abs("natives/.tmp/.partial-XYZ"), []byte("half"), 0o600)
	// A native sealed but not yet recorded anywhere.
	sealed := store.NativePath(strings.Repeat("cd", 32))
	os.MkdirAll(filepath.Dir(c.abs(sealed)), 0o700)
	os.WriteFile(c.abs(sealed), []byte("x"), 0o400)
	running := store.VerifyOptions{Running: true}
	// In order: the last case edits the manifest.
	for _, tc := range []struct {
		name     string
		snapshot []store.ManifestEntry // the state as the snapshot holds it
		ok       bool
		check    func(t *testing.T, rep store.Report)
	}{
		// The snapshot is two commits behind the manifest.
		{name: "manifest ahead", snapshot: c.entries[:4], ok: true, check: func(t *testing.T, rep store.Report) {
			if rep.Newer != 2 || rep.Verified != 5 || rep.InFlight != 1 || len(rep.LeftoverTemps) != 0 ||
				!slices.Equal(rep.Unrecorded, []string{sealed}) {
				t.Errorf("report %+v", rep)
			}
		}},
		// The snapshot holds a commit whose lines are not appended yet.
		{name: "state ahead", snapshot: append(slices.Clone(c.entries), func() store.ManifestEntry {
			e := c.entries[1]
			e.Seq, e.GraphID = 7, "AAMk-7"
			return e
		}()), ok: true, check: func(t *testing.T, rep store.Report) {
			if rep.Pending != 1 || len(rep.Manifest) != 0 {
				t.Errorf("report %+v", rep)
			}
		}},
		{name: "line lost before the snapshot", snapshot: c.entries, check: func(t *testing.T, rep store.Report) {
			if len(rep.Manifest) != 1 || rep.Manifest[0].Seq != 1 || !strings.Contains(rep.Manifest[0].Problem, "does not restore") {
				t.Errorf("manifest problems %v", rep.Manifest)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "line lost before the snapshot" {
				c.rewriteManifest(t, func(b []byte) []byte { return b[bytes.IndexByte(b, '\n')+1:] })
			}
			rep, err := store.Verify(context.Background(), c.dir, slices.Values(tc.snapshot), running)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK() != tc.ok {
				t.Errorf("OK() = %v, want %v: %+v", rep.OK(), tc.ok, rep)
			}
			tc.check(t, rep)
		})
	}
	// Not running, the same folder is reported as it is.
	rep := c.verify(t)
	if rep.OK() || !slices.Equal(rep.Unexpected, []string{sealed}) || len(rep.LeftoverTemps) != 1 {
		t.Errorf("report without an apply running %+v", rep)
	}
}

func TestVerifyCanceled(t *testing.T) {
	c := newCollection(t, 3)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := store.Verify(ctx, c.dir, slices.Values(c.entries), store.VerifyOptions{}); err == nil {
		t.Fatal("a canceled verify returned no error")
	}
}
