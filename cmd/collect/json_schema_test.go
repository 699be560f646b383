package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/collect-ediscovery/collect/internal/jsondoc"
	"github.com/collect-ediscovery/collect/plan"
)

// decodeDoc checks one JSON document against its schema: it carries the
// one format_version, and every other field is one the document's type
// declares (DisallowUnknownFields), so a field added to a command's output
// without its documented type fails here.
func decodeDoc[T any](t *testing.T, what string, raw []byte) T {
	t.Helper()
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		t.Fatalf("%s: not one JSON object: %v\n%s", what, err, raw)
	}
	if got := string(fields["format_version"]); got != `"`+jsondoc.FormatVersion+`"` {
		t.Errorf("%s: format_version = %s, want %q", what, got, jsondoc.FormatVersion)
	}
	delete(fields, "format_version")
	// A command's document carries its diagnostics; a version report, a
	// progress line and a plan file have none to carry.
	if _, ok := fields["diagnostics"]; !ok && what != "version" && what != "plan file" && !strings.HasPrefix(what, "apply progress") {
		t.Errorf("%s: no diagnostics field", what)
	}
	rest, _ := json.Marshal(fields)
	dec := json.NewDecoder(bytes.NewReader(rest))
	dec.DisallowUnknownFields()
	var doc T
	if err := dec.Decode(&doc); err != nil {
		t.Errorf("%s: does not match %s: %v", what, reflect.TypeFor[T](), err)
	}
	return doc
}

// runIn runs collect in dir, as the binary would, and returns its exit
// code and outputs.
func runIn(t *testing.T, dir string, args ...string) (int, []byte, []byte) {
	t.Helper()
	t.Chdir(dir)
	var stdout, stderr bytes.Buffer
	code := run(args, strings.NewReader(""), &stdout, &stderr, append(os.Environ(), "NO_COLOR=1"))
	return code, stdout.Bytes(), stderr.Bytes()
}

// TestJSONDocuments decodes the JSON of every command that has -json
// through one schema per document, on the demo tenant.
func TestJSONDocuments(t *testing.T) {
	dir := quickstartMatter(t)

	_, out, _ := runIn(t, dir, "validate", "-json")
	if v := decodeDoc[validateDoc](t, "validate", out); !v.Valid {
		t.Errorf("validate: not valid: %s", out)
	}
	_, out, _ = runIn(t, dir, "version", "-json")
	if v := decodeDoc[versionDoc](t, "version", out); v.Collect == "" {
		t.Errorf("version: no collect version: %s", out)
	}
	code, out, _ := runIn(t, dir, "plan", "-json", "-out=p.plan")
	if code != 0 {
		t.Fatalf("plan -json: exit %d", code)
	}
	if p := decodeDoc[planDoc](t, "plan", out); !p.Complete || !p.Demo || p.Counts.ToCollect == 0 {
		t.Errorf("plan: complete %v, demo %v, to collect %d", p.Complete, p.Demo, p.Counts.ToCollect)
	}
	file, err := os.ReadFile(filepath.Join(dir, "p.plan"))
	if err != nil {
		t.Fatal(err)
	}
	decodeDoc[plan.Document](t, "plan file", bytes.TrimSpace(file))
	_, out, _ = runIn(t, dir, "show", "-json", "p.plan")
	decodeDoc[planDoc](t, "show PLANFILE", out)

	code, out, _ = runIn(t, dir, "apply", "-json", "p.plan")
	if code != 0 {
		t.Fatalf("apply -json: exit %d\n%s", code, out)
	}
	var last applyResult
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var head struct{ Type string }
		json.Unmarshal(sc.Bytes(), &head)
		switch head.Type {
		case "progress":
			decodeDoc[progressLine](t, "apply progress line", sc.Bytes())
		case "result":
			last = decodeDoc[applyResult](t, "apply result line", sc.Bytes())
		default:
			t.Errorf("apply -json: a line of unknown type: %s", sc.Bytes())
		}
	}
	if !last.Complete || last.Collected == 0 {
		t.Errorf("apply result: complete %v, collected %d", last.Complete, last.Collected)
	}

	_, out, _ = runIn(t, dir, "show", "-json")
	if s := decodeDoc[stateDoc](t, "show", out); !s.Exists || s.Counts["collected"] == 0 {
		t.Errorf("show: exists %v, collected %d", s.Exists, s.Counts["collected"])
	}
	_, out, _ = runIn(t, dir, "verify", "-json")
	if v := decodeDoc[verifyDoc](t, "verify", out); !v.OK || v.Custody == nil || !v.Custody.OK() || v.Custody.Included == 0 {
		t.Errorf("verify: not ok, or no custody check: %s", out)
	}
	keyFile := filepath.Join(t.TempDir(), "custody.key")
	_, out, _ = runIn(t, dir, "custody", "keygen", "-json", "-out="+keyFile)
	if k := decodeDoc[keygenDoc](t, "custody keygen", out); k.KeyFile != keyFile || !strings.HasPrefix(k.Verifier, "collect/quickstart+") {
		t.Errorf("custody keygen: %s", out)
	}
	_, out, _ = runIn(t, dir, "verify", "-custody", "-json")
	if v := decodeDoc[verifyDoc](t, "verify -custody", out); !v.OK || !v.CustodyOnly || v.Custody == nil || v.Custody.Latest == nil {
		t.Errorf("verify -custody: not ok, or not a custody check: %s", out)
	}
	_, out, _ = runIn(t, dir, "export", "-json")
	if e := decodeDoc[exportDoc](t, "export", out); !e.Written || e.Messages == 0 {
		t.Errorf("export: written %v, messages %d", e.Written, e.Messages)
	}
	_, out, _ = runIn(t, dir, "doctor", "-json")
	decodeDoc[doctorDoc](t, "doctor", out)
}

// TestJSONOnInvalidMatter: every -json command prints its document, with
// the matter's errors as diagnostics, when the matter is invalid.
func TestJSONOnInvalidMatter(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "matter.collect.hcl"), []byte("matter \"m\" {\n  colour = 1\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	check := func(what string, diags []jsonDiagnostic, code int) {
		t.Helper()
		if code != exitError {
			t.Errorf("%s: exit %d, want %d", what, code, exitError)
		}
		if len(diags) == 0 || diags[0].Severity != "error" || diags[0].Range == nil || diags[0].Range.Filename != "matter.collect.hcl" {
			t.Errorf("%s: diagnostics %+v, want the matter's error with its range", what, diags)
		}
	}
	code, out, errOut := runIn(t, dir, "plan", "-json")
	if len(errOut) > 0 {
		t.Errorf("plan -json wrote to stderr: %s", errOut)
	}
	p := decodeDoc[planDoc](t, "plan of an invalid matter", out)
	check("plan", p.Diagnostics, code)
	if p.Complete || p.Applyable {
		t.Errorf("plan of an invalid matter: complete %v, applyable %v", p.Complete, p.Applyable)
	}
	code, out, _ = runIn(t, dir, "apply", "-json", "-auto-approve")
	r := decodeDoc[applyResult](t, "apply of an invalid matter", bytes.TrimSpace(out))
	check("apply", r.Diagnostics, code)
	if r.Type != "result" || r.Complete || r.Error == "" {
		t.Errorf("apply of an invalid matter: %+v", r)
	}
	code, out, _ = runIn(t, dir, "show", "-json")
	check("show", decodeDoc[stateDoc](t, "show of an invalid matter", out).Diagnostics, code)
	code, out, _ = runIn(t, dir, "verify", "-json")
	check("verify", decodeDoc[verifyDoc](t, "verify of an invalid matter", out).Diagnostics, code)
	code, out, _ = runIn(t, dir, "export", "-json")
	check("export", decodeDoc[exportDoc](t, "export of an invalid matter", out).Diagnostics, code)
	code, out, _ = runIn(t, dir, "doctor", "-json")
	check("doctor", decodeDoc[doctorDoc](t, "doctor of an invalid matter", out).Diagnostics, code)
	code, out, _ = runIn(t, dir, "validate", "-json")
	check("validate", decodeDoc[validateDoc](t, "validate of an invalid matter", out).Diagnostics, code)
}
