package config

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	_ "time/tzdata" // IANA zones even where the system has none

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// LoadOptions carries what the command line and the environment add to
// the files of a matter.
type LoadOptions struct {
	// Vars are the -var and -var-file options in the order given; a later
	// one wins over an earlier one, and both win over the environment.
	Vars []VarOption
	// Env is the process environment as KEY=VALUE; COLLECT_VAR_name sets
	// variable name.
	Env []string
	// Now is the current time, for warnings about open windows.
	Now time.Time
	// BackendConfig are the -backend-config=key=value options in the order
	// given; a later one wins over an earlier one, and they win over the
	// environment (COLLECT_BACKEND_*) and the backend block.
	BackendConfig []string
}

// VarOption is one -var name=value or one -var-file=FILE.
type VarOption struct {
	Assignment string // name=value, from -var
	File       string // path, from -var-file
	// The options that say where the collection lives, given with the
	// variables to every command that reads the matter: a -backend-config
	// key=value, or a -shard I/N. Load ignores them; see LoadOptions.
	BackendConfig string
	Shard         string
}

// Files is the parsed source of a matter and of its -var-file files, keyed
// by file name as diagnostics name them, for rendering diagnostics with
// snippets.
type Files map[string]*hcl.File

// Load reads every *.collect.hcl file of dir as one matter. It returns the
// matter (nil when there are errors), the parsed files, and every
// diagnostic found: loading goes on past an error to report as many as it
// can at once.
func Load(dir string, opts LoadOptions) (*Matter, Files, hcl.Diagnostics) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read the matter folder", Detail: err.Error()}}
	}
	parser := hclparse.NewParser()
	names, err := matterFiles(abs)
	if err != nil {
		return nil, nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read the matter folder",
			Detail:   fmt.Sprintf("%v. Check the path, or use -chdir=DIR to point at the matter folder.", err),
		}}
	}
	if len(names) == 0 {
		return nil, nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "No matter files",
			Detail: fmt.Sprintf("The folder %s has no *%s files. Run collect in the matter folder, point at it "+
				"with -chdir=DIR, or create a starter matter there with collect init.", abs, FileSuffix),
		}}
	}
	var diags hcl.Diagnostics
	var bodies []*hclsyntax.Body
	for _, name := range names {
		src, err := os.ReadFile(filepath.Join(abs, name))
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read a matter file", Detail: err.Error()})
			continue
		}
		f, ds := parser.ParseHCL(src, name)
		diags = append(diags, ds...)
		if f != nil {
			if body, ok := f.Body.(*hclsyntax.Body); ok {
				bodies = append(bodies, body)
			}
		}
	}
	files := Files(parser.Files())
	if diags.HasErrors() {
		return nil, files, diags
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	l := &loader{dir: abs, opts: opts, first: names[0], files: files}
	m := l.load(bodies)
	diags = append(diags, l.diags...)
	sortDiags(diags)
	maskSecrets(files, diags)
	if diags.HasErrors() {
		return nil, files, diags
	}
	return m, files, diags
}

func matterFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), FileSuffix) && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// loader holds the work in progress of one Load.
type loader struct {
	dir   string
	opts  LoadOptions
	first string // first file name, for diagnostics about missing blocks
	diags hcl.Diagnostics
	scope *scope
	tz    *time.Location
	files Files // var files are added, so their diagnostics show their source
	// written holds the top-level block types a file tried to declare,
	// even in a shape that was refused (wrong labels, written as an
	// argument): that error is reported, so "missing block" would mislead.
	written map[string]bool
}

func (l *loader) add(ds hcl.Diagnostics) { l.diags = append(l.diags, ds...) }

func (l *loader) errorf(rng *hcl.Range, summary, format string, args ...any) {
	l.diags = append(l.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: rng,
	})
}

func (l *loader) warnf(rng *hcl.Range, summary, format string, args ...any) {
	l.diags = append(l.diags, &hcl.Diagnostic{
		Severity: hcl.DiagWarning, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: rng,
	})
}

// block is a checked top-level or nested block.
type block struct {
	syn   *hclsyntax.Block
	attrs map[string]*hclsyntax.Attribute
	inner []*hclsyntax.Block
}

func (b *block) label() string {
	if len(b.syn.Labels) == 0 {
		return ""
	}
	return b.syn.Labels[0]
}

func (b *block) def() *hcl.Range { r := b.syn.DefRange(); return &r }

func where(blk *hclsyntax.Block) string {
	if len(blk.Labels) > 0 {
		return fmt.Sprintf("in %s %q", blk.Type, blk.Labels[0])
	}
	return fmt.Sprintf("in a %s block", blk.Type)
}

func (l *loader) load(bodies []*hclsyntax.Body) *Matter {
	byType := map[string][]*block{}
	l.written = map[string]bool{}
	for _, body := range bodies {
		for _, syn := range body.Blocks {
			l.written[syn.Type] = true
		}
		for name := range body.Attributes {
			l.written[name] = true
		}
		_, blocks, ds := checkBody(body, rootSchema, "at the top level of a matter file", body.SrcRange)
		l.add(ds)
		for _, syn := range blocks {
			schema := rootSchema.blocks[syn.Type]
			attrs, inner, ds := checkBody(syn.Body, schema, where(syn), syn.DefRange())
			l.add(ds)
			byType[syn.Type] = append(byType[syn.Type], &block{syn: syn, attrs: attrs, inner: inner})
		}
	}
	for _, t := range []string{"matter", "tenant", "output", "state", "export", "custody", "backend"} {
		if bs := byType[t]; len(bs) > 1 {
			for _, b := range bs[1:] {
				l.errorf(b.def(), fmt.Sprintf("Duplicate %s block", t),
					"Only one %s block is allowed in a matter; another was declared at %s.", t, bs[0].syn.DefRange())
			}
			byType[t] = bs[:1]
		}
	}
	for _, t := range []string{"variable", "window", "custodian", "mailbox"} {
		byType[t] = l.uniqueLabels(t, byType[t])
	}

	m := &Matter{Dir: l.dir}
	l.scope = &scope{
		vars: map[string]cty.Value{}, locals: map[string]cty.Value{}, funcs: functions(),
		varNames: map[string]bool{}, localNames: map[string]bool{},
	}
	m.Variables = l.variables(byType["variable"])
	l.locals(byType["locals"])
	l.matter(m, byType["matter"])
	l.tenant(m, byType["tenant"])
	windows := l.windows(m, byType["window"])
	l.custodians(m, byType["custodian"], windows)
	l.mailboxes(m, byType["mailbox"], windows)
	l.output(m, byType["output"])
	l.statePath(m, byType["state"])
	l.export(m, byType["export"])
	l.custody(m, byType["custody"])
	l.backend(m, byType["backend"])
	l.uniqueAddresses(m)
	return m
}

func (l *loader) uniqueLabels(kind string, bs []*block) []*block {
	seen := map[string]*block{}
	var out []*block
	for _, b := range bs {
		name := b.label()
		if !hclsyntax.ValidIdentifier(name) {
			detail := fmt.Sprintf("%q is not a valid %s name: a name starts with a letter or an underscore and "+
				"holds only letters, digits, underscores and dashes, so that it can be referred to as %s.NAME.",
				name, kind, map[bool]string{true: "var", false: kind}[kind == "variable"])
			if fixed := identifierLike(name); fixed != "" {
				detail += fmt.Sprintf(" Try %q.", fixed)
			}
			l.errorf(b.syn.LabelRanges[0].Ptr(), "Invalid name", "%s", detail)
			continue
		}
		if prev := seen[name]; prev != nil {
			l.errorf(b.syn.LabelRanges[0].Ptr(), fmt.Sprintf("Duplicate %s %q", kind, name),
				"A %s named %q was already declared at %s. Names must be unique within a matter.", kind, name, prev.syn.DefRange())
			continue
		}
		seen[name] = b
		out = append(out, b)
	}
	return out
}

// identifierLike turns a name with spaces or punctuation into a valid
// one, "jane doe" into "jane_doe", or returns "" when that does not work.
func identifierLike(name string) string {
	fixed := strings.Map(func(r rune) rune {
		if r == ' ' || r == '.' || r == '@' || r == '/' || r == ',' || r == '\'' {
			return '_'
		}
		return r
	}, strings.TrimSpace(name))
	if fixed == name || !hclsyntax.ValidIdentifier(fixed) {
		return ""
	}
	return fixed
}

func (l *loader) matter(m *Matter, bs []*block) {
	m.TimeZone = time.UTC
	l.tz = time.UTC
	if len(bs) == 0 {
		if l.written["matter"] {
			return
		}
		l.errorf(l.fileStart(), "Missing matter block",
			`A matter needs one matter block that names it, such as matter "acme-v-globex" { time_zone = "America/New_York" }.`)
		return
	}
	b := bs[0]
	m.Name = b.label()
	if strings.TrimSpace(m.Name) == "" {
		l.errorf(b.syn.LabelRanges[0].Ptr(), "Empty matter name",
			`The matter block's label names the matter in plans, run records and the manifest: write one, such as matter "acme-v-globex" { ... }.`)
	}
	if a := b.attrs["description"]; a != nil {
		m.Description, _ = l.str(a, "description")
	}
	if a := b.attrs["recollect_changed"]; a != nil {
		v, ds := l.scope.boolean(a.Expr, `The argument "recollect_changed"`)
		l.add(ds)
		m.RecollectChanged = v
	}
	if a := b.attrs["time_zone"]; a != nil {
		name, ok := l.str(a, "time_zone")
		if !ok {
			return
		}
		loc, err := loadZone(name)
		if err != nil {
			detail := fmt.Sprintf("%q is not an IANA time zone name.", name)
			if strings.EqualFold(name, "local") {
				detail = "The zone of the machine that runs collect is not accepted: a matter must mean the same " +
					"wherever it is read."
			}
			l.errorf(a.Expr.Range().Ptr(), "Unknown time zone",
				"%s Use a name such as \"America/New_York\", \"Europe/London\" or \"UTC\"; "+
					"plain dates in this matter are midnight in that zone.", detail)
			return
		}
		m.TimeZone, l.tz = loc, loc
	}
}

func loadZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" || strings.EqualFold(name, "local") {
		// "Local" depends on the machine: a matter must mean the same everywhere.
		return nil, fmt.Errorf("not a fixed zone")
	}
	return time.LoadLocation(name)
}

func (l *loader) fileStart() *hcl.Range {
	return &hcl.Range{Filename: l.first, Start: hcl.InitialPos, End: hcl.InitialPos}
}

func (l *loader) str(a *hclsyntax.Attribute, what string) (string, bool) {
	s, ds := l.scope.str(a.Expr, fmt.Sprintf("The argument %q", what))
	l.add(ds)
	return s, !ds.HasErrors()
}

func (l *loader) strList(a *hclsyntax.Attribute, what string) ([]string, bool) {
	s, ds := l.scope.strList(a.Expr, fmt.Sprintf("The argument %q", what))
	l.add(ds)
	return s, !ds.HasErrors()
}

// oneOf checks a value against a closed list, with a suggestion.
func (l *loader) oneOf(a *hclsyntax.Attribute, v string, allowed []string, what string) bool {
	for _, x := range allowed {
		if v == x {
			return true
		}
	}
	detail := fmt.Sprintf("%q is not a valid %s. Valid values are: %s.", v, what, strings.Join(quoteAll(allowed), ", "))
	if s := suggest(v, allowed); s != "" {
		detail += fmt.Sprintf(" Did you mean %q?", s)
	}
	l.errorf(a.Expr.Range().Ptr(), "Invalid "+what, "%s", detail)
	return false
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

func (l *loader) output(m *Matter, bs []*block) {
	m.Output = Output{Path: filepath.Join(l.dir, "collection"), Hashes: []string{"sha256"}}
	if len(bs) == 0 {
		return
	}
	b := bs[0]
	if a := b.attrs["path"]; a != nil {
		if p, ok := l.str(a, "path"); ok {
			if p == "" {
				l.errorf(a.Expr.Range().Ptr(), "Empty output path", "The output path must name a folder, such as \"collection\".")
			} else {
				m.Output.Path = l.abs(p)
			}
		}
	}
	if a := b.attrs["hashes"]; a != nil {
		hs, ok := l.strList(a, "hashes")
		if !ok {
			return
		}
		// Point at the item itself when the list is written out.
		items, _ := hcl.ExprList(a.Expr)
		for i, written := range hs {
			h := strings.ToLower(written)
			if !contains(hashNames, h) {
				rng := a.Expr.Range()
				if len(items) == len(hs) {
					rng = items[i].Range()
				}
				l.errorf(&rng, "Invalid hash", "%s", hashDetail(written))
				continue
			}
			if !contains(m.Output.Hashes, h) {
				m.Output.Hashes = append(m.Output.Hashes, h)
			}
		}
	}
}

// hashDetail explains a hash name that is not one collect computes. Only
// a spelling of a supported name gets a "did you mean": suggesting sha1
// for sha512 would trade a strong hash for a weak one.
func hashDetail(written string) string {
	detail := fmt.Sprintf("collect does not compute %q. It computes \"sha256\" (always, and names every "+
		"native by it), \"md5\" and \"sha1\"; list the ones your review platform or load files need.", written)
	squashed := strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r == ' ' {
			return -1
		}
		return r
	}, strings.ToLower(written))
	if contains(hashNames, squashed) {
		detail += fmt.Sprintf(" Did you mean %q?", squashed)
	}
	return detail
}

func (l *loader) statePath(m *Matter, bs []*block) {
	m.State = StatePath{Path: filepath.Join(l.dir, "collect.state")}
	if len(bs) == 0 {
		return
	}
	if a := bs[0].attrs["path"]; a != nil {
		if p, ok := l.str(a, "path"); ok {
			if p == "" {
				l.errorf(a.Expr.Range().Ptr(), "Empty state path", "The state path must name a file, such as \"collect.state\".")
			} else {
				m.State.Path = l.abs(p)
			}
		}
	}
}

func (l *loader) abs(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(l.dir, filepath.FromSlash(p))
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// uniqueAddresses refuses two mailboxes that name the same address: the
// same mail would be collected twice under two names.
func (l *loader) uniqueAddresses(m *Matter) {
	seen := map[string]*Mailbox{}
	for _, mb := range m.Mailboxes {
		if mb.Email == "" {
			continue
		}
		if prev := seen[mb.Email]; prev != nil {
			l.errorf(mb.DeclRange.Ptr(), "Two mailboxes with the same address",
				"%s and %s both name %s. Each mailbox must appear once: name it in one place, and list every "+
					"custodian it belongs to in a mailbox block's custodians.", prev.Addr, mb.Addr, mb.Email)
			continue
		}
		seen[mb.Email] = mb
	}
}
