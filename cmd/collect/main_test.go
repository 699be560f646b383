// The script tests: every testdata/script/*.txtar runs the collect binary
// against the simulated tenant that setupSim starts (see simCmd for the
// sim commands). Matters that several scripts use live once, in
// testdata/matters.txtar: TestScripts extracts them into $MATTERS, and a
// script starts with, for example,
//
//	cp $MATTERS/sim.collect.hcl main.collect.hcl
//
// A script whose matter is its own subject (aliases, sign-in, formatting)
// keeps it in its own archive. $EXAMPLES is the repository's examples folder.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/rogpeppe/go-internal/txtar"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/collect-ediscovery/collect/custody"
)

var update = flag.Bool("update", false, "rewrite the expected output in testdata/script")

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"collect": func() { os.Exit(runChild()) },
	})
}

// TestScripts runs the end-to-end scripts in testdata/script: the real
// binary on real files, checking output, files and exit codes.
func TestScripts(t *testing.T) {
	examples, err := filepath.Abs("../../examples")
	if err != nil {
		t.Fatal(err)
	}
	matters := extractMatters(t, "testdata/matters.txtar")
	testscript.Run(t, testscript.Params{
		Dir:           "testdata/script",
		UpdateScripts: *update,
		Setup: func(env *testscript.Env) error {
			env.Setenv("EXAMPLES", examples)
			env.Setenv("MATTERS", matters)
			env.Setenv("NO_COLOR", "1")
			return setupSim(env)
		},
		Cmds: scriptCommands(),
	})
}

// scriptCommands are the commands the scripts have besides testscript's.
func scriptCommands() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"sim":         simCmd,
		"simauth":     simAuthCmd,
		"tamper":      tamperCmd,
		"lines":       linesCmd,
		"damage":      damageCmd,
		"tree":        treeCmd,
		"lastrun":     lastRunCmd,
		"exportcheck": exportCheckCmd,
		// exitcode N cmd args... runs cmd and checks its exit status is
		// exactly N: the exit codes are a documented contract.
		"exitcode": func(ts *testscript.TestScript, neg bool, args []string) {
			if neg || len(args) < 2 {
				ts.Fatalf("usage: exitcode N command [args...]")
			}
			want, err := strconv.Atoi(args[0])
			if err != nil {
				ts.Fatalf("exitcode: %v", err)
			}
			err = ts.Exec(args[1], args[2:]...)
			got := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				got = ee.ExitCode()
			} else if err != nil {
				ts.Fatalf("exitcode: %v", err)
			}
			if got != want {
				ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
			}
		},
	}
}

// linesCmd edits a manifest the way a careless tool might:
//
//	lines drop FILE N              remove line N (1-based; "last" for the last line)
//	lines set FILE N FIELD VALUE   set a string field of line N
//	lines swap FILE N M            exchange lines N and M
//	lines copy FILE N              insert after line N a copy of it with another graph_id
//	lines versions DIR             check the versions in DIR's manifest and print how many items have them
func linesCmd(ts *testscript.TestScript, neg bool, args []string) {
	if !neg && len(args) == 2 && args[0] == "versions" {
		versionsOf(ts, args[1])
		return
	}
	if neg || len(args) < 3 || (args[0] == "set") != (len(args) == 5) || (args[0] == "swap") != (len(args) == 4) {
		ts.Fatalf("usage: lines drop FILE N | lines set FILE N FIELD VALUE | lines swap FILE N M | lines copy FILE N | lines versions DIR")
	}
	path := ts.MkAbs(args[1])
	b, err := os.ReadFile(path)
	ts.Check(err)
	lines := strings.SplitAfter(string(b), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	n := len(lines)
	if args[2] != "last" {
		n, err = strconv.Atoi(args[2])
		ts.Check(err)
	}
	if n < 1 || n > len(lines) {
		ts.Fatalf("lines: %s has %d lines, no line %d", args[1], len(lines), n)
	}
	switch args[0] {
	case "drop":
		lines = append(lines[:n-1], lines[n:]...)
	case "swap":
		m, err := strconv.Atoi(args[3])
		ts.Check(err)
		if m < 1 || m > len(lines) {
			ts.Fatalf("lines: %s has %d lines, no line %d", args[1], len(lines), m)
		}
		lines[n-1], lines[m-1] = lines[m-1], lines[n-1]
	case "copy":
		extra := strings.Replace(lines[n-1], `"graph_id":"`, `"graph_id":"copy-`, 1)
		if extra == lines[n-1] {
			ts.Fatalf("lines: line %d has no graph_id", n)
		}
		lines = append(lines[:n], append([]string{extra}, lines[n:]...)...)
	case "set":
		var fields map[string]json.RawMessage
		ts.Check(json.Unmarshal([]byte(lines[n-1]), &fields))
		v, _ := json.Marshal(args[4])
		fields[args[3]] = v
		out, err := json.Marshal(fields)
		ts.Check(err)
		lines[n-1] = string(out) + "\n"
	default:
		ts.Fatalf("lines: unknown edit %q", args[0])
	}
	ts.Check(os.Chmod(path, 0o600))
	ts.Check(os.WriteFile(path, []byte(strings.Join(lines, "")), 0o600))
}

// extractMatters writes the files of the shared archive into a folder of
// their own and returns it; scripts copy from it and never write to it.
func extractMatters(t *testing.T, archive string) string {
	t.Helper()
	a, err := txtar.ParseFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range a.Files {
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(f.Name)), f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// versionsOf checks that each item collected in several versions has one
// line per version, numbered from 1 (no "version") up, each with a native
// of its own on disk, and prints "versions: N items, M lines".
func versionsOf(ts *testscript.TestScript, dir string) {
	b, err := os.ReadFile(ts.MkAbs(filepath.Join(dir, "manifest.jsonl")))
	ts.Check(err)
	type line struct {
		GraphID string `json:"graph_id"`
		SHA256  string `json:"sha256"`
		Path    string `json:"path"`
		Version int    `json:"version"`
	}
	byID := map[string][]line{}
	var order []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var e line
		ts.Check(json.Unmarshal([]byte(l), &e))
		if byID[e.GraphID] == nil {
			order = append(order, e.GraphID)
		}
		byID[e.GraphID] = append(byID[e.GraphID], e)
	}
	items, lines := 0, 0
	for _, id := range order {
		vs := byID[id]
		if len(vs) < 2 {
			continue
		}
		items++
		lines += len(vs)
		seen := map[string]bool{}
		for i, v := range vs {
			want := i + 1
			if want == 1 {
				want = 0
			}
			if v.Version != want {
				ts.Fatalf("item %s: line %d of it says version %d, want %d", id, i+1, v.Version, want)
			}
			if seen[v.SHA256] {
				ts.Fatalf("item %s: two versions with the same bytes %s", id, v.SHA256)
			}
			seen[v.SHA256] = true
			if _, err := os.Stat(ts.MkAbs(filepath.Join(dir, filepath.FromSlash(v.Path)))); err != nil {
				ts.Fatalf("item %s version %d: native %v", id, i+1, err)
			}
		}
	}
	fmt.Fprintf(ts.Stdout(), "versions: %d items, %d lines\n", items, lines)
}

// tamperCmd damages an output folder the way an accident or a forger
// would:
//
//	tamper OUTPUT                   change one byte of the first native and delete the second
//	tamper swap OUTPUT              exchange the bytes of the first two natives
//	tamper rewrite OUTPUT N KEY     replace checkpoint N (1-based in size order, or "last") with
//	                                one of another tree of the same size, signed with KEY
//	tamper grow OUTPUT N KEY        the same with a tree one line larger
//	tamper forge OUTPUT KEY         sign the latest checkpoint again with KEY instead
//	tamper edit OUTPUT              change the root of the latest checkpoint, keeping its signature
//	tamper save|restore OUTPUT      copy the checkpoints to custody.saved beside OUTPUT, and back
//	tamper hold OUTPUT N FILE       copy checkpoint N to FILE, as one handed to the other side
//
// KEY is a private key file ("-" for no signature).
func tamperCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: tamper OUTPUT | tamper swap|rewrite|grow|forge|edit OUTPUT ...")
	}
	if len(args) > 1 {
		tamperCustody(ts, args)
		return
	}
	var natives []string
	root := ts.MkAbs(filepath.Join(args[0], "natives"))
	ts.Check(filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(p) == ".eml" {
			natives = append(natives, p)
		}
		return err
	}))
	sort.Strings(natives)
	if len(natives) < 2 {
		ts.Fatalf("tamper: %d natives, need 2", len(natives))
	}
	ts.Check(os.Chmod(natives[0], 0o600))
	b, err := os.ReadFile(natives[0])
	ts.Check(err)
	b[len(b)/2] ^= 0x20
	ts.Check(os.WriteFile(natives[0], b, 0o600))
	ts.Check(os.Remove(natives[1]))
}

func tamperCustody(ts *testscript.TestScript, args []string) {
	dir := ts.MkAbs(args[1])
	signer := func(file string) note.Signer {
		if file == "-" {
			return nil
		}
		b, err := os.ReadFile(ts.MkAbs(file))
		ts.Check(err)
		sg, err := note.NewSigner(strings.TrimSpace(string(b)))
		ts.Check(err)
		return sg
	}
	saved := filepath.Join(filepath.Dir(dir), "custody.saved")
	switch args[0] {
	case "save", "restore":
		from, to := filepath.Join(dir, custody.Dir), saved
		if args[0] == "restore" {
			from, to = to, from
			ts.Check(os.RemoveAll(to))
		}
		ts.Check(os.MkdirAll(to, 0o700))
		entries, err := os.ReadDir(from)
		ts.Check(err)
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(from, e.Name()))
			ts.Check(err)
			ts.Check(os.WriteFile(filepath.Join(to, e.Name()), b, 0o600))
		}
		return
	}
	cps, _, err := custody.ReadCheckpoints(dir)
	ts.Check(err)
	if len(cps) == 0 {
		ts.Fatalf("tamper: %s holds no checkpoint", args[1])
	}
	pick := func(arg string) custody.Checkpoint {
		if arg == "last" {
			return cps[len(cps)-1]
		}
		i, err := strconv.Atoi(arg)
		ts.Check(err)
		if i < 1 || i > len(cps) {
			ts.Fatalf("tamper: %d checkpoints, no checkpoint %d", len(cps), i)
		}
		return cps[i-1]
	}
	write := func(c custody.Checkpoint, sg note.Signer) {
		text := []byte(c.Body())
		if sg != nil {
			text, err = note.Sign(&note.Note{Text: c.Body()}, sg)
			ts.Check(err)
		}
		path := filepath.Join(dir, custody.Dir, c.File)
		os.Chmod(path, 0o600)
		ts.Check(os.WriteFile(path, text, 0o600))
	}
	switch args[0] {
	case "swap":
		var natives []string
		ts.Check(filepath.WalkDir(filepath.Join(dir, "natives"), func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && filepath.Ext(p) == ".eml" {
				natives = append(natives, p)
			}
			return err
		}))
		sort.Strings(natives)
		a, err := os.ReadFile(natives[0])
		ts.Check(err)
		b, err := os.ReadFile(natives[1])
		ts.Check(err)
		for p, data := range map[string][]byte{natives[0]: b, natives[1]: a} {
			ts.Check(os.Chmod(p, 0o600))
			ts.Check(os.WriteFile(p, data, 0o600))
		}
	case "rewrite", "grow":
		if len(args) != 4 {
			ts.Fatalf("usage: tamper %s OUTPUT N KEY", args[0])
		}
		c := pick(args[2])
		// Another history: the same lines with the first one changed, and
		// one line more for grow.
		raw, err := os.ReadFile(filepath.Join(dir, "manifest.jsonl"))
		ts.Check(err)
		lines := strings.SplitAfter(string(raw), "\n")
		size := c.Size
		if args[0] == "grow" {
			size++
		}
		var tree []tlog.Hash
		for i := int64(0); i < size; i++ {
			line := "{\"seq\":0,\"forged\":true}\n"
			if i < int64(len(lines)) && lines[i] != "" {
				line = lines[i]
			}
			if i == 0 {
				line = strings.Replace(line, "{", "{\"rewritten\":true,", 1)
			}
			hs, err := tlog.StoredHashes(i, []byte(line), tlogHashes(tree))
			ts.Check(err)
			tree = append(tree, hs...)
		}
		c.Size = size
		c.Root, err = tlog.TreeHash(size, tlogHashes(tree))
		ts.Check(err)
		write(c, signer(args[3]))
	case "hold":
		if len(args) != 4 {
			ts.Fatalf("usage: tamper hold OUTPUT N FILE")
		}
		ts.Check(os.WriteFile(ts.MkAbs(args[3]), pick(args[2]).Text, 0o600))
	case "forge":
		if len(args) != 3 {
			ts.Fatalf("usage: tamper forge OUTPUT KEY")
		}
		write(pick("last"), signer(args[2]))
	case "edit":
		c := pick("last")
		i := bytes.LastIndex(c.Text, []byte("\n\n"))
		if i < 0 {
			ts.Fatalf("tamper: the latest checkpoint is not signed")
		}
		c.Root[0] ^= 1
		text := append([]byte(c.Body()), c.Text[i+1:]...)
		path := filepath.Join(dir, custody.Dir, c.File)
		os.Chmod(path, 0o600)
		ts.Check(os.WriteFile(path, text, 0o600))
	default:
		ts.Fatalf("tamper: unknown mode %q", args[0])
	}
}

// tlogHashes reads stored hashes from a slice, for the tamper command.
type tlogHashes []tlog.Hash

func (h tlogHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		out[i] = h[x]
	}
	return out, nil
}
