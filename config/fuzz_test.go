package config

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// FuzzLoad feeds arbitrary text to Load as a matter, whole or split into
// two files, and checks that Load never panics, that an error always comes
// back without a matter, and that a matter without errors is sane.
func FuzzLoad(f *testing.F) {
	for _, src := range fuzzSeeds(f) {
		f.Add(src, uint16(0))
		f.Add(src, uint16(2))
	}
	f.Fuzz(func(t *testing.T, src []byte, split uint16) {
		dir := t.TempDir()
		first, second := splitAtTopLevel(src, int(split))
		writeFuzzFile(t, dir, "a"+FileSuffix, first)
		if second != nil {
			writeFuzzFile(t, dir, "b"+FileSuffix, second)
		}
		m, files, diags := Load(dir, LoadOptions{Now: goldenNow})
		if diags.HasErrors() {
			if m != nil {
				t.Fatal("Load returned a matter along with errors")
			}
		} else if m == nil {
			t.Fatalf("Load returned neither a matter nor an error; diagnostics: %v", diags)
		}
		// Rendering for a person must not fail on any range Load reports.
		var out bytes.Buffer
		if err := hcl.NewDiagnosticTextWriter(&out, files, 78, false).WriteDiagnostics(diags); err != nil {
			t.Fatalf("rendering diagnostics: %v", err)
		}
		for _, d := range diags {
			if d.Summary == "" || d.Detail == "" {
				t.Errorf("diagnostic without summary or detail: %#v", d)
			}
			// A secret found in the matter is masked in the source kept
			// for showing diagnostics.
			if sv, ok := d.Extra.(secretValue); ok {
				if f := files[sv.value.Filename]; f != nil && sv.value.End.Byte <= len(f.Bytes) {
					for _, c := range f.Bytes[sv.value.Start.Byte:sv.value.End.Byte] {
						if c != '*' && c != '"' && c != '\n' && c != '\r' {
							t.Fatalf("secret at %s not masked: %q", sv.value, f.Bytes[sv.value.Start.Byte:sv.value.End.Byte])
						}
					}
				}
			}
		}
		if m != nil {
			checkSaneMatter(t, m)
		}
	})
}

// checkSaneMatter holds a loaded matter to what the rest of collect relies on.
func checkSaneMatter(t *testing.T, m *Matter) {
	t.Helper()
	if m.Name == "" || m.TimeZone == nil {
		t.Errorf("matter without name or time zone: %q %v", m.Name, m.TimeZone)
	}
	if !contains(clouds, m.Tenant.Cloud) || !contains(authModes, m.Tenant.Auth) {
		t.Errorf("tenant cloud %q, auth %q", m.Tenant.Cloud, m.Tenant.Auth)
	}
	if m.Tenant.MailboxConcurrency < 1 || m.Tenant.MailboxRequestLimit < 1 || m.Tenant.MailboxRequestWindow <= 0 {
		t.Errorf("tenant limits not positive: %+v", m.Tenant)
	}
	for _, w := range m.Windows {
		if !w.Open() && !w.End.After(w.Start) {
			t.Errorf("window %q ends at %s, not after its start %s", w.Name, w.End, w.Start)
		}
		if w.Date != DateReceived && w.Date != DateSent {
			t.Errorf("window %q has date field %q", w.Name, w.Date)
		}
	}
	seen := map[string]bool{}
	for _, mb := range m.Mailboxes {
		if mb.Addr == "" {
			t.Errorf("mailbox without an address in the matter: %+v", mb)
		}
		if mb.Email == "" || mb.Email != strings.ToLower(mb.Email) || !strings.Contains(mb.Email, "@") {
			t.Errorf("mailbox %s has e-mail %q, want a lower-case address", mb.Addr, mb.Email)
		}
		if seen[mb.Email] {
			t.Errorf("two mailboxes name %s", mb.Email)
		}
		seen[mb.Email] = true
		for _, w := range mb.Windows {
			if w == nil {
				t.Errorf("mailbox %s has a nil window", mb.Addr)
			}
		}
	}
	if len(m.Output.Hashes) == 0 || m.Output.Hashes[0] != "sha256" {
		t.Errorf("output hashes %v must start with sha256", m.Output.Hashes)
	}
	for _, h := range m.Output.Hashes {
		if !contains(hashNames, h) {
			t.Errorf("unknown hash %q", h)
		}
	}
	if !filepath.IsAbs(m.Output.Path) || !filepath.IsAbs(m.State.Path) {
		t.Errorf("output %q and state %q must be absolute", m.Output.Path, m.State.Path)
	}
	if h := m.Hash(); len(h) != 64 || h != m.Hash() {
		t.Errorf("Hash() = %q, not a stable sha256", h)
	}
}

// splitAtTopLevel cuts src before its n-th line that starts at the left
// margin (usually a block), so that the fuzzer can spread one matter over
// two files. With n zero, or fewer such lines, src stays whole.
func splitAtTopLevel(src []byte, n int) ([]byte, []byte) {
	if n <= 0 {
		return src, nil
	}
	seen := 0
	for i := 1; i < len(src); i++ {
		if src[i-1] != '\n' || src[i] == ' ' || src[i] == '\t' || src[i] == '\n' || src[i] == '}' {
			continue
		}
		seen++
		if seen == n {
			return src[:i], src[i:]
		}
	}
	return src, nil
}

func writeFuzzFile(t *testing.T, dir, name string, src []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), src, 0o644); err != nil {
		t.Fatal(err)
	}
}

// fuzzSeeds returns every example matter (its files joined) and every
// golden case's matter files (joined the same way).
func fuzzSeeds(f *testing.F) [][]byte {
	f.Helper()
	var seeds [][]byte
	for _, pattern := range []string{
		filepath.Join("..", "examples", "*"),
		filepath.Join("testdata", "invalid", "*"),
	} {
		dirs, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, dir := range dirs {
			names, _ := filepath.Glob(filepath.Join(dir, "*"+FileSuffix))
			if len(names) == 0 {
				continue
			}
			sort.Strings(names)
			var all []byte
			for _, name := range names {
				b, err := os.ReadFile(name)
				if err != nil {
					f.Fatal(err)
				}
				all = append(all, b...)
				if len(all) > 0 && all[len(all)-1] != '\n' {
					all = append(all, '\n')
				}
			}
			seeds = append(seeds, all)
		}
	}
	if len(seeds) < 10 {
		f.Fatalf("found %d seed matters, want the examples and the golden cases", len(seeds))
	}
	return seeds
}
