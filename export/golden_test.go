package export

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/collect-ediscovery/collect/config"
)

var update = flag.Bool("update", false, "rewrite the golden load files in testdata/golden")

// TestGoldenLoadFiles exports the demo collection in every format and
// profile and compares each load file, byte for byte, with its golden
// file. The collection has families (files, an attached message with an
// attachment of its own, a winmail.dat) and the same message in two
// custodians' mailboxes. Every export after the first re-exports the same
// records, so the goldens also hold only if control numbers are stable.
//
// After a deliberate change, rewrite them with
//
//	go test ./export -run Golden -update
//
// and read the diff.
func TestGoldenLoadFiles(t *testing.T) {
	c := demoCollection(t)
	out := filepath.Join(t.TempDir(), "exports")
	first, exports := "", 0
	for _, profile := range config.ExportProfiles {
		for _, format := range config.ExportFormats {
			t.Run(profile+"-"+format, func(t *testing.T) {
				res := c.export(out, Options{Format: format, Profile: profile})
				got, err := os.ReadFile(filepath.Join(res.Dir, res.Volume.LoadFile))
				if err != nil {
					t.Fatal(err)
				}
				golden := filepath.Join("testdata", "golden", profile+"."+Extension(format))
				if *update {
					if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(golden, got, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run with -update to create it)", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s differs from %s:\n%s", res.Volume.LoadFile, golden, firstDiff(got, want))
				}
				if first == "" {
					first = res.Volume.FirstDOCID + ".." + res.Volume.LastDOCID
				} else if now := res.Volume.FirstDOCID + ".." + res.Volume.LastDOCID; now != first {
					t.Errorf("re-export numbered %s, the first export %s", now, first)
				}
				if exports++; exports > 1 && res.NewNumbers != 0 {
					t.Errorf("re-export gave %d new control numbers", res.NewNumbers)
				}
			})
		}
	}
}

// firstDiff shows the first line where got and want differ.
func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + strconv.Itoa(i+1) + ":\n got: " + strings.ReplaceAll(gl, "\x14", "¶") + "\nwant: " + strings.ReplaceAll(wl, "\x14", "¶")
		}
	}
	return "(same lines, different bytes)"
}
