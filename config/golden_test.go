package config

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
)

var update = flag.Bool("update", false, "rewrite the diagnostics.golden files under testdata/invalid")

// goldenNow is the clock of every golden case, so that warnings about long
// or open windows do not drift with the date the tests run.
var goldenNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// minGoldenCases keeps the suite from silently shrinking.
const minGoldenCases = 30

// TestGoldenDiagnostics loads every case folder under testdata/invalid and
// compares what a person would see (the diagnostics as collect validate
// renders them, 78 columns, no color) with the case's diagnostics.golden.
//
// A case folder holds one or more *.collect.hcl files, any files its
// options name, and optionally args.txt (see readArgs). A case whose name
// starts with "warn-" must load with no error and at least one warning;
// every other case must fail with at least one error.
//
// After a deliberate change to a message, rewrite the golden files with
//
//	go test ./config -run Golden -update
//
// and read the diff: it is what users will see.
func TestGoldenDiagnostics(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "invalid", "*"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, dir := range dirs {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			continue
		}
		n++
		t.Run(filepath.Base(dir), func(t *testing.T) {
			opts := readArgs(t, dir)
			opts.Now = goldenNow
			m, files, diags := Load(dir, opts)
			errs, warns := 0, 0
			for _, d := range diags {
				if d.Severity == hcl.DiagError {
					errs++
				} else {
					warns++
				}
			}
			if strings.HasPrefix(filepath.Base(dir), "warn-") {
				if errs != 0 || warns == 0 {
					t.Errorf("a warn- case must load with warnings and no errors; got %d errors, %d warnings", errs, warns)
				}
				if m == nil {
					t.Error("a matter with only warnings must load")
				}
			} else {
				if errs == 0 {
					t.Errorf("an invalid case must fail with at least one error; got %d warnings only", warns)
				}
				if m != nil {
					t.Error("Load returned a matter along with errors")
				}
			}
			// Only a command-line option or the environment has no place in
			// a file to point at.
			_, argsErr := os.Stat(filepath.Join(dir, "args.txt"))
			for _, d := range diags {
				if d.Subject == nil && argsErr != nil {
					t.Errorf("%q names no file, line and column", d.Summary)
				}
			}
			got := renderDiags(files, diags)
			golden := filepath.Join(dir, "diagnostics.golden")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./config -run Golden -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("diagnostics differ from %s (review, then -update if the change is right)\n--- got\n%s\n--- want\n%s",
					golden, got, want)
			}
		})
	}
	if n < minGoldenCases {
		t.Errorf("found %d golden cases, want at least %d", n, minGoldenCases)
	}
}

// TestSecretsNeverRendered checks that a credential written in a matter
// is refused without being shown: the source lines printed with the
// diagnostics, as text or in -json snippets, have the value masked.
func TestSecretsNeverRendered(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "invalid", "secret-*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 4 {
		t.Fatalf("found %d secret cases, want at least 4", len(dirs))
	}
	for _, dir := range dirs {
		src, err := os.ReadFile(filepath.Join(dir, "m"+FileSuffix))
		if err != nil {
			t.Fatal(err)
		}
		secrets := secretLiteral.FindAllSubmatch(src, -1)
		if len(secrets) == 0 {
			t.Fatalf("%s: no secret value written in the case", dir)
		}
		_, files, diags := Load(dir, LoadOptions{Now: goldenNow})
		if !diags.HasErrors() {
			t.Fatalf("%s: a secret in the matter must be an error", dir)
		}
		out := renderDiags(files, diags)
		for _, s := range secrets {
			if bytes.Contains(out, s[1]) {
				t.Errorf("%s: the diagnostics show the secret %q:\n%s", dir, s[1], out)
			}
			// -json snippets are cut from the same source.
			for name, f := range files {
				if bytes.Contains(f.Bytes, s[1]) {
					t.Errorf("%s: the source kept for %s still holds the secret %q", dir, name, s[1])
				}
			}
		}
	}
}

// secretLiteral finds the values the secret-* cases write, such as
// password = "hunter2", by the names the cases use.
var secretLiteral = regexp.MustCompile(`(?m)^\s*(?:client_secret|password|access_token|default|access_key|connection_string)\s*=\s*"([^"]+)"`)

// renderDiags writes diagnostics exactly as collect validate shows them,
// followed by a line with the counts.
func renderDiags(files Files, diags hcl.Diagnostics) []byte {
	var b bytes.Buffer
	wr := hcl.NewDiagnosticTextWriter(&b, files, 78, false)
	if err := wr.WriteDiagnostics(diags); err != nil {
		fmt.Fprintf(&b, "(rendering failed: %v)\n", err)
	}
	// Without color the text shows no column: list each range, so that the
	// golden file pins exactly what an editor or -json would highlight.
	errs, warns := 0, 0
	for _, d := range diags {
		sev := "warning"
		if d.Severity == hcl.DiagError {
			sev = "error"
			errs++
		} else {
			warns++
		}
		where := "(no file: a command-line option or the environment)"
		if r := d.Subject; r != nil {
			where = fmt.Sprintf("%s:%d:%d-%d:%d", r.Filename, r.Start.Line, r.Start.Column, r.End.Line, r.End.Column)
		}
		fmt.Fprintf(&b, "%s %s: %s\n", sev, where, d.Summary)
	}
	fmt.Fprintf(&b, "%s, %s\n", count(errs, "error"), count(warns, "warning"))
	return b.Bytes()
}

func count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// readArgs reads a case's args.txt, if any. One option a line:
//
//	# a comment; blank lines are skipped
//	-var name=value       a -var option, exactly as after the flag
//	-var-file=FILE        a -var-file option; FILE is relative to the case folder
//	env KEY=VALUE         an environment variable
//	-backend-config=K=V   a -backend-config option
func readArgs(t *testing.T, dir string) LoadOptions {
	t.Helper()
	var opts LoadOptions
	f, err := os.Open(filepath.Join(dir, "args.txt"))
	if os.IsNotExist(err) {
		return opts
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		switch {
		case text == "" || strings.HasPrefix(text, "#"):
		case strings.HasPrefix(text, "-var "):
			opts.Vars = append(opts.Vars, VarOption{Assignment: strings.TrimSpace(strings.TrimPrefix(text, "-var "))})
		case strings.HasPrefix(text, "-var-file="):
			opts.Vars = append(opts.Vars, VarOption{File: filepath.Join(dir, strings.TrimPrefix(text, "-var-file="))})
		case strings.HasPrefix(text, "-backend-config="):
			opts.BackendConfig = append(opts.BackendConfig, strings.TrimPrefix(text, "-backend-config="))
		case strings.HasPrefix(text, "env "):
			kv := strings.TrimSpace(strings.TrimPrefix(text, "env "))
			if !strings.Contains(kv, "=") {
				t.Fatalf("args.txt:%d: env line must be env KEY=VALUE, got %q", line, text)
			}
			opts.Env = append(opts.Env, kv)
		default:
			t.Fatalf("args.txt:%d: unknown line %q (want -var name=value, -var-file=FILE, -backend-config=K=V or env KEY=VALUE)", line, text)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return opts
}
