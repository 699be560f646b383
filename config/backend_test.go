package config

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

const backendMatterRest = `
tenant {
  cloud = "demo"
}
window "w" {
  start = "2024-01-01"
}
custodian "jdoe" {
  email   = "jane.doe@contoso.com"
  windows = [window.w]
}
`

func backendMatter(t *testing.T, block string) string {
	t.Helper()
	dir := t.TempDir()
	write(t, dir, "m.collect.hcl", "matter \"m\" {}\n"+block+backendMatterRest)
	return dir
}

func TestBackendResolved(t *testing.T) {
	const block = `
variable "account" {
  type    = string
  default = "acmeevidence"
}
backend "azurerm" {
  storage_account = var.account
  container       = "acme-v-globex"
  prefix          = "matters/2024/"
  endpoint        = "http://127.0.0.1:10000/devstoreaccount1"
}
`
	cases := []struct {
		name  string
		block string
		opts  LoadOptions
		want  Backend
	}{
		{"no block is the local folder", "", LoadOptions{}, Backend{}},
		{"block, a variable and a trimmed prefix", block, LoadOptions{}, Backend{
			Type: "azurerm", StorageAccount: "acmeevidence", Container: "acme-v-globex", Prefix: "matters/2024",
			Endpoint: "http://127.0.0.1:10000/devstoreaccount1"}},
		{"the environment wins over the block", block, LoadOptions{Env: []string{
			"COLLECT_BACKEND_CONTAINER=other-container", "COLLECT_BACKEND_PREFIX=", "COLLECT_VAR_account=fromvar"}},
			Backend{Type: "azurerm", StorageAccount: "fromvar", Container: "other-container",
				Endpoint: "http://127.0.0.1:10000/devstoreaccount1"}},
		{"-backend-config wins over the environment, the later over the earlier", block, LoadOptions{
			Env:           []string{"COLLECT_BACKEND_CONTAINER=from-env", "COLLECT_BACKEND_STORAGE_ACCOUNT=envaccount"},
			BackendConfig: []string{"container=first-flag", "container=second-flag", "endpoint="}},
			Backend{Type: "azurerm", StorageAccount: "envaccount", Container: "second-flag", Prefix: "matters/2024"}},
		{"COLLECT_BACKEND selects a backend without a block", "", LoadOptions{Env: []string{
			"COLLECT_BACKEND=azurerm", "COLLECT_BACKEND_STORAGE_ACCOUNT=ciaccount", "COLLECT_BACKEND_CONTAINER=ci-runs"},
			BackendConfig: []string{"prefix=pr/42"}},
			Backend{Type: "azurerm", StorageAccount: "ciaccount", Container: "ci-runs", Prefix: "pr/42"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := mustLoad(t, backendMatter(t, c.block), c.opts)
			got := m.Backend
			got.Range = hcl.Range{}
			if got != c.want {
				t.Errorf("backend:\n got %+v\nwant %+v", got, c.want)
			}
			if (m.Backend.Range == hcl.Range{}) == strings.Contains(c.block, "backend") {
				t.Errorf("Range = %v: want the block's range exactly when there is a block", m.Backend.Range)
			}
			if got.Remote() != (c.want.Type != "") {
				t.Errorf("Remote() = %v for type %q", got.Remote(), got.Type)
			}
		})
	}
}

func TestBackendRange(t *testing.T) {
	m := mustLoad(t, backendMatter(t, "backend \"azurerm\" {\n  storage_account = \"acct\"\n  container = \"box\"\n}\n"), LoadOptions{})
	if r := m.Backend.Range; r.Filename != "m.collect.hcl" || r.Start.Line != 2 {
		t.Errorf("Range = %v, want m.collect.hcl line 2, the backend block", r)
	}
}

// TestBackendNotInHash checks that where a collection is kept is not part
// of its scope: the same matter in a backend, in another one, or in the
// local folder hashes the same.
func TestBackendNotInHash(t *testing.T) {
	remote := backendMatter(t, "backend \"azurerm\" {\n  storage_account = \"acct\"\n  container = \"box\"\n  prefix = \"a/b\"\n}\n")
	want := mustLoad(t, remote, LoadOptions{}).Hash()
	for _, opts := range []LoadOptions{
		{Env: []string{"COLLECT_BACKEND_CONTAINER=elsewhere", "COLLECT_BACKEND_ENDPOINT=https://acct.blob.core.usgovcloudapi.net/"}},
		{BackendConfig: []string{"storage_account=another", "prefix="}},
	} {
		m := mustLoad(t, remote, opts)
		if !m.Backend.Remote() {
			t.Fatalf("%+v: the backend did not load", opts)
		}
		if h := m.Hash(); h != want {
			t.Errorf("%+v: hash %s, want %s: where the backend keeps the collection is not scope", opts, h, want)
		}
	}
	// With a backend, the output and state paths name only the working
	// folder a command works in (it is made anew for each): not scope.
	m := mustLoad(t, remote, LoadOptions{})
	m.Output.Path, m.State.Path = "/tmp/work/out", "/tmp/work/state.db"
	if h := m.Hash(); h != want {
		t.Errorf("the working folder's paths changed the hash: %s, want %s", h, want)
	}
	// The check can fail: the same comparison sees a change of scope.
	other := backendMatter(t, "backend \"azurerm\" {\n  storage_account = \"acct\"\n  container = \"box\"\n}\noutput {\n  hashes = [\"sha256\", \"md5\"]\n}\n")
	if mustLoad(t, other, LoadOptions{}).Hash() == want {
		t.Error("a matter with other hashes must hash differently")
	}
	local := mustLoad(t, backendMatter(t, ""), LoadOptions{})
	lh := local.Hash()
	local.Output.Path = filepath.Join(local.Dir, "elsewhere")
	if local.Hash() == lh {
		t.Error("a local matter with another output folder must hash differently")
	}
}

// TestBackendRefused checks each way a backend setting is wrong: the
// diagnostic, what it says, and where it points (a value in the file, or
// nothing for the environment and the command line).
func TestBackendRefused(t *testing.T) {
	const good = "backend \"azurerm\" {\n  storage_account = \"acct\"\n  container = \"box\"\n}\n"
	cases := []struct {
		name    string
		block   string
		opts    LoadOptions
		summary string
		detail  []string // substrings of the detail
		line    int      // the line the subject starts on; 0 for no subject
		col     int
		never   string // a value that must not appear in the detail
	}{
		{name: "unknown type", block: "backend \"s3\" {\n}\n", summary: "Unsupported backend type",
			detail: []string{`"s3"`, `"azurerm"`}, line: 2, col: 9},
		{name: "typo of the type", block: "backend \"azurem\" {\n}\n", summary: "Unsupported backend type",
			detail: []string{`Did you mean "azurerm"?`}, line: 2, col: 9},
		{name: "local type", block: "backend \"local\" {\n}\n", summary: "Unsupported backend type",
			detail: []string{"needs no backend block"}, line: 2},
		{name: "no label", block: "backend {\n}\n", summary: "Wrong number of labels for backend", line: 2},
		{name: "account with capitals", block: "backend \"azurerm\" {\n  storage_account = \"AcmeEvidence\"\n  container = \"box\"\n}\n",
			summary: "Invalid storage account name", detail: []string{"3 to 24 lower-case letters and digits", `Did you mean "acmeevidence"?`},
			line: 3, col: 21},
		{name: "account host name", block: "backend \"azurerm\" {\n  storage_account = \"acct.blob.core.windows.net\"\n  container = \"box\"\n}\n",
			summary: "Invalid storage account name", detail: []string{"not its host name"}, line: 3},
		{name: "account too short", block: "backend \"azurerm\" {\n  storage_account = \"ab\"\n  container = \"box\"\n}\n",
			summary: "Invalid storage account name", line: 3},
		{name: "account too long", block: "backend \"azurerm\" {\n  storage_account = \"abcdefghijklmnopqrstuvwxy\"\n  container = \"box\"\n}\n",
			summary: "Invalid storage account name", line: 3},
		{name: "container two hyphens", block: "backend \"azurerm\" {\n  storage_account = \"acct\"\n  container = \"acme--globex\"\n}\n",
			summary: "Invalid container name", detail: []string{"no two hyphens in a row"}, line: 4, col: 15},
		{name: "container ends with a hyphen", block: "backend \"azurerm\" {\n  storage_account = \"acct\"\n  container = \"acme-\"\n}\n",
			summary: "Invalid container name", line: 4},
		{name: "container starts with a hyphen", block: "backend \"azurerm\" {\n  storage_account = \"acct\"\n  container = \"-acme\"\n}\n",
			summary: "Invalid container name", line: 4},
		{name: "container with a folder", block: "backend \"azurerm\" {\n  storage_account = \"acct\"\n  container = \"box/matters\"\n}\n",
			summary: "Invalid container name", detail: []string{"goes in prefix"}, line: 4},
		{name: "container too long", block: "backend \"azurerm\" {\n  storage_account = \"acct\"\n  container = \"" + strings.Repeat("a", 64) + "\"\n}\n",
			summary: "Invalid container name", line: 4},
		{name: "container from the environment", block: good, opts: LoadOptions{Env: []string{"COLLECT_BACKEND_CONTAINER=Box"}},
			summary: "Invalid container name", detail: []string{"COLLECT_BACKEND_CONTAINER", `Did you mean "box"?`}},
		{name: "prefix with dot-dot", block: "backend \"azurerm\" {\n  storage_account = \"acct\"\n  container = \"box\"\n  prefix = \"a/../b\"\n}\n",
			summary: "Invalid backend prefix", detail: []string{`".." folder name`}, line: 5, col: 12},
		{name: "prefix with a leading slash", block: "backend \"azurerm\" {\n  storage_account = \"acct\"\n  container = \"box\"\n  prefix = \"/a\"\n}\n",
			summary: "Invalid backend prefix", detail: []string{"starts with a slash"}, line: 5},
		{name: "prefix with two slashes", block: good, opts: LoadOptions{BackendConfig: []string{"prefix=a//b"}},
			summary: "Invalid backend prefix", detail: []string{"-backend-config=prefix", "two slashes"}},
		{name: "prefix with a backslash", block: good, opts: LoadOptions{BackendConfig: []string{`prefix=a\b`}},
			summary: "Invalid backend prefix", detail: []string{"backslash"}},
		{name: "endpoint not a URL", block: "backend \"azurerm\" {\n  storage_account = \"acct\"\n  container = \"box\"\n  endpoint = \"acct.blob.core.windows.net\"\n}\n",
			summary: "Invalid backend endpoint", detail: []string{"Azurite"}, line: 5, col: 14},
		{name: "endpoint with a SAS token", block: "backend \"azurerm\" {\n  storage_account = \"acct\"\n  container = \"box\"\n  endpoint = \"https://acct.blob.core.windows.net/?sv=2022&sig=SECRETSIG\"\n}\n",
			summary: "Credential in the backend endpoint", detail: []string{"AZURE_STORAGE_KEY"}, line: 5, never: "SECRETSIG"},
		{name: "missing storage account", block: "backend \"azurerm\" {\n  container = \"box\"\n}\n",
			summary: "Missing backend setting", detail: []string{"storage_account", "COLLECT_BACKEND_STORAGE_ACCOUNT", "-backend-config=storage_account="}, line: 2},
		{name: "missing container with no block", opts: LoadOptions{Env: []string{"COLLECT_BACKEND=azurerm", "COLLECT_BACKEND_STORAGE_ACCOUNT=acct"}},
			summary: "Missing backend setting", detail: []string{"container", "COLLECT_BACKEND_CONTAINER"}},
		{name: "unknown COLLECT_BACKEND", opts: LoadOptions{Env: []string{"COLLECT_BACKEND=s3"}},
			summary: "Unsupported backend type", detail: []string{"COLLECT_BACKEND=s3", `"azurerm"`}},
		{name: "bad -backend-config key", block: good, opts: LoadOptions{BackendConfig: []string{"containr=box"}},
			summary: "Invalid -backend-config option", detail: []string{`"storage_account", "container", "prefix", "endpoint"`, `Did you mean "container"?`}},
		{name: "-backend-config without =", block: good, opts: LoadOptions{BackendConfig: []string{"container"}},
			summary: "Invalid -backend-config option", detail: []string{"key=value"}},
		{name: "-backend-config credential", block: good, opts: LoadOptions{BackendConfig: []string{"access_key=SECRETKEY"}},
			summary: "Credential in a -backend-config option", detail: []string{"AZURE_STORAGE_KEY", "AZURE_STORAGE_CONNECTION_STRING"}, never: "SECRETKEY"},
		{name: "credential in COLLECT_BACKEND_*", block: good, opts: LoadOptions{Env: []string{"COLLECT_BACKEND_ACCESS_KEY=SECRETKEY"}},
			summary: "Credential in a backend setting", detail: []string{"COLLECT_BACKEND_ACCESS_KEY", "AZURE_STORAGE_KEY"}, never: "SECRETKEY"},
		{name: "-backend-config with no backend", opts: LoadOptions{BackendConfig: []string{"container=box"}},
			summary: "No backend to configure", detail: []string{"COLLECT_BACKEND=azurerm"}},
		{name: "duplicate block", block: good + good, summary: "Duplicate backend block", line: 6},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, diags := Load(backendMatter(t, c.block), c.opts)
			var d *hcl.Diagnostic
			for _, x := range diags {
				if x.Summary == c.summary {
					d = x
				}
			}
			if d == nil || d.Severity != hcl.DiagError {
				t.Fatalf("want an error %q; got %v", c.summary, diags)
			}
			for _, want := range c.detail {
				if !strings.Contains(d.Detail, want) {
					t.Errorf("detail %q does not say %q", d.Detail, want)
				}
			}
			if c.never != "" && strings.Contains(d.Detail, c.never) {
				t.Errorf("detail %q repeats the secret %q", d.Detail, c.never)
			}
			switch {
			case c.line == 0 && d.Subject != nil:
				t.Errorf("subject %v: a setting from the environment or the command line has no place in a file", d.Subject)
			case c.line != 0 && d.Subject == nil:
				t.Errorf("no subject, want line %d", c.line)
			case c.line != 0 && (d.Subject.Start.Line != c.line || (c.col != 0 && d.Subject.Start.Column != c.col)):
				t.Errorf("subject %v, want line %d column %d", d.Subject, c.line, c.col)
			}
		})
	}
}

// TestBackendCredentialsRefused checks that a storage credential written
// in the backend block is refused, named as such, points at the argument,
// and is masked in the source kept for showing the diagnostic.
func TestBackendCredentialsRefused(t *testing.T) {
	for _, name := range []string{"key", "access_key", "connection_string", "sas_token", "account_key"} {
		t.Run(name, func(t *testing.T) {
			const secret = "Zm9vYmFyU0VDUkVU"
			dir := backendMatter(t, "backend \"azurerm\" {\n  storage_account = \"acct\"\n  container = \"box\"\n  "+
				name+" = \""+secret+"\"\n}\n")
			m, files, diags := Load(dir, LoadOptions{})
			if m != nil {
				t.Fatal("a credential in the matter must stop the load")
			}
			var d *hcl.Diagnostic
			for _, x := range diags {
				if x.Summary == "Secret written in the matter" {
					d = x
				}
			}
			if d == nil {
				t.Fatalf("no secret diagnostic: %v", diags)
			}
			for _, want := range []string{name, "AZURE_STORAGE_KEY", "AZURE_STORAGE_CONNECTION_STRING", "Entra ID"} {
				if !strings.Contains(d.Detail, want) {
					t.Errorf("detail %q does not say %q", d.Detail, want)
				}
			}
			if d.Subject == nil || d.Subject.Start.Line != 5 || d.Subject.Start.Column != 3 {
				t.Errorf("subject %v, want line 5 column 3, the argument's name", d.Subject)
			}
			if out := renderDiags(files, diags); strings.Contains(string(out), secret) {
				t.Errorf("the rendered diagnostics show the credential:\n%s", out)
			}
		})
	}
}

// TestBackendEnvWithoutBackend checks that COLLECT_BACKEND_* settings of
// a matter kept in the local folder are not silently dropped.
func TestBackendEnvWithoutBackend(t *testing.T) {
	m, _, diags := Load(backendMatter(t, ""), LoadOptions{Env: []string{"COLLECT_BACKEND_CONTAINER=box"}})
	if m == nil || m.Backend.Remote() {
		t.Fatalf("the matter must load in the local folder: %v", diags)
	}
	if len(diags) != 1 || diags[0].Severity != hcl.DiagWarning || !strings.Contains(diags[0].Detail, "COLLECT_BACKEND_CONTAINER") {
		t.Errorf("want one warning naming COLLECT_BACKEND_CONTAINER, got %v", diags)
	}
}
