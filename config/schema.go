package config

import (
	"fmt"
	"sort"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// blockSchema says which arguments and nested blocks a block accepts.
// The matter language is checked by walking the syntax tree against these
// schemas, so that every unknown name gets its own diagnostic with a
// "did you mean" and a secret written in a file is named as such.
type blockSchema struct {
	labels    []string // label names, for messages: {"name"}
	attrs     map[string]bool
	blocks    map[string]*blockSchema
	anyAttrs  bool // locals: any argument name is a value
	singleton bool // at most one of this block in its parent
	// credentials are argument names refused as secrets besides the ones
	// secretLike finds, and credentialHelp says where the block's
	// credentials go instead.
	credentials    []string
	credentialHelp string
}

var folderSchema = &blockSchema{
	attrs:     map[string]bool{"include": false, "exclude": false},
	singleton: true,
}

var validationSchema = &blockSchema{
	attrs: map[string]bool{"condition": true, "error_message": true},
}

var rootSchema = &blockSchema{blocks: map[string]*blockSchema{
	"matter": {
		labels:    []string{"name"},
		attrs:     map[string]bool{"description": false, "time_zone": false, "recollect_changed": false},
		singleton: true,
	},
	"tenant": {
		attrs: map[string]bool{
			"tenant_id": false, "client_id": false, "auth": false, "cloud": false,
			"certificate_path": false, "mailbox_concurrency": false,
			"mailbox_request_limit": false, "mailbox_request_window": false,
		},
		singleton: true,
	},
	"variable": {
		labels: []string{"name"},
		attrs: map[string]bool{
			"type": false, "default": false, "description": false, "sensitive": false, "nullable": false,
		},
		blocks: map[string]*blockSchema{"validation": validationSchema},
	},
	"locals": {anyAttrs: true},
	"window": {
		labels: []string{"name"},
		attrs:  map[string]bool{"start": true, "end": false, "date": false, "description": false},
	},
	"custodian": {
		labels: []string{"name"},
		attrs:  map[string]bool{"name": false, "email": true, "windows": false, "description": false},
		blocks: map[string]*blockSchema{"folders": folderSchema},
	},
	"mailbox": {
		labels: []string{"name"},
		attrs: map[string]bool{
			"address": true, "type": false, "custodians": false, "windows": false, "description": false,
		},
		blocks: map[string]*blockSchema{"folders": folderSchema},
	},
	"output": {
		attrs:     map[string]bool{"path": false, "hashes": false},
		singleton: true,
	},
	"state": {
		attrs:     map[string]bool{"path": false},
		singleton: true,
	},
	"export":  exportSchema,
	"custody": custodySchema,
	"backend": backendSchema,
}}

// secretLike reports whether an argument name looks like it holds a
// credential. Such values must never live in a matter folder, which is
// usually committed to git.
func secretLike(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"secret", "password", "passwd", "token", "api_key", "private_key"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// secretValue marks a diagnostic about a credential written in the
// matter: Load masks the bytes of value in the Files it returns, so that
// showing the diagnostic with its source line never prints the secret.
type secretValue struct{ value hcl.Range }

// secretDiag refuses a credential-like name; kind is "argument" or
// "variable", and value, if any, is where the secret itself is written.
func secretDiag(kind, name string, rng hcl.Range, value *hcl.Range) *hcl.Diagnostic {
	var extra any
	if value != nil {
		extra = secretValue{*value}
	}
	env := "COLLECT_CLIENT_SECRET"
	switch {
	case strings.Contains(strings.ToLower(name), "password"):
		env = "COLLECT_CERTIFICATE_PASSWORD (for a certificate) or COLLECT_CLIENT_SECRET"
	case strings.Contains(strings.ToLower(name), "token"):
		env = "COLLECT_FEDERATED_TOKEN_FILE (for a federated token) or COLLECT_CLIENT_SECRET"
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Secret written in the matter",
		Detail: fmt.Sprintf("The %s %q looks like a credential. A matter folder is evidence documentation "+
			"and is usually kept in git, so collect never reads secrets from it: remove %q and set %s instead.",
			kind, name, name, env),
		Subject: rng.Ptr(),
		Extra:   extra,
	}
}

// checkBody walks one block body against its schema and returns the
// arguments and nested blocks it holds, with diagnostics for anything the
// schema does not know.
func checkBody(body *hclsyntax.Body, schema *blockSchema, where string, def hcl.Range) (map[string]*hclsyntax.Attribute, []*hclsyntax.Block, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	attrs := make(map[string]*hclsyntax.Attribute, len(body.Attributes))
	names := make([]string, 0, len(body.Attributes))
	for name := range body.Attributes {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		return body.Attributes[names[i]].SrcRange.Start.Byte < body.Attributes[names[j]].SrcRange.Start.Byte
	})
	for _, name := range names {
		attr := body.Attributes[name]
		if secretLike(name) || contains(schema.credentials, name) {
			d := secretDiag("argument", name, attr.NameRange, attr.Expr.Range().Ptr())
			if schema.credentialHelp != "" {
				d.Detail = fmt.Sprintf("The argument %q would hold a credential. A matter folder is evidence documentation "+
					"and is usually kept in git, so collect never reads secrets from it: remove %q and set %s.",
					name, name, schema.credentialHelp)
			}
			diags = append(diags, d)
			continue
		}
		if _, ok := schema.attrs[name]; !ok && !schema.anyAttrs {
			detail := fmt.Sprintf("An argument named %q is not expected %s.", name, where)
			if s := suggest(name, keys(schema.attrs)); s != "" {
				detail += fmt.Sprintf(" Did you mean %q?", s)
			} else if _, isBlock := schema.blocks[name]; isBlock {
				detail += fmt.Sprintf(" %q is a block: write %s { ... } without the equals sign.", name, name)
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Unsupported argument",
				Detail:   detail,
				Subject:  attr.NameRange.Ptr(),
			})
			continue
		}
		attrs[name] = attr
	}
	for _, name := range sortedKeys(schema.attrs) {
		if schema.attrs[name] && attrs[name] == nil && body.Attributes[name] == nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Missing required argument",
				Detail:   fmt.Sprintf("The argument %q is required %s, but no definition was found.", name, where),
				Subject:  def.Ptr(),
			})
		}
	}

	var blocks []*hclsyntax.Block
	seenSingleton := map[string]*hclsyntax.Block{}
	for _, blk := range body.Blocks {
		bs, ok := schema.blocks[blk.Type]
		if !ok {
			detail := fmt.Sprintf("Blocks of type %q are not expected %s.", blk.Type, where)
			if s := suggest(blk.Type, keys(schema.blocks)); s != "" {
				detail += fmt.Sprintf(" Did you mean %q?", s)
			} else if _, isAttr := schema.attrs[blk.Type]; isAttr {
				detail += fmt.Sprintf(" %q is an argument: write %s = ...", blk.Type, blk.Type)
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Unsupported block type",
				Detail:   detail,
				Subject:  blk.TypeRange.Ptr(),
			})
			continue
		}
		if len(blk.Labels) != len(bs.labels) {
			diags = append(diags, labelDiag(blk, bs))
			continue
		}
		if bs.singleton {
			if prev := seenSingleton[blk.Type]; prev != nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  fmt.Sprintf("Duplicate %s block", blk.Type),
					Detail: fmt.Sprintf("Only one %s block is allowed %s; another was declared at %s.",
						blk.Type, where, prev.DefRange().String()),
					Subject: blk.DefRange().Ptr(),
				})
				continue
			}
			seenSingleton[blk.Type] = blk
		}
		blocks = append(blocks, blk)
	}
	return attrs, blocks, diags
}

func labelDiag(blk *hclsyntax.Block, bs *blockSchema) *hcl.Diagnostic {
	rng := blk.TypeRange
	if len(blk.LabelRanges) > 0 {
		rng = hcl.RangeBetween(blk.LabelRanges[0], blk.LabelRanges[len(blk.LabelRanges)-1])
	}
	if len(bs.labels) == 0 {
		return &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Extraneous label for " + blk.Type,
			Detail:   fmt.Sprintf("%s %s block takes no labels: write %s { ... }.", article(blk.Type), blk.Type, blk.Type),
			Subject:  rng.Ptr(),
		}
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Wrong number of labels for " + blk.Type,
		Detail: fmt.Sprintf("%s %s block takes exactly one label, its %s: write %s \"example\" { ... }.",
			article(blk.Type), blk.Type, bs.labels[0], blk.Type),
		Subject: rng.Ptr(),
	}
}

// article is "A" or "An" before a block type.
func article(word string) string {
	if word != "" && strings.ContainsRune("aeiou", rune(word[0])) {
		return "An"
	}
	return "A"
}

// suggest returns the candidate closest to name, if it is close enough to
// be a likely typo.
func suggest(name string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		d := levenshtein.Distance(strings.ToLower(name), strings.ToLower(c), nil)
		if d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortedKeys(m map[string]bool) []string { return keys(m) }

// maskSecrets overwrites, in the source kept for rendering diagnostics,
// every credential a diagnostic found in the matter. Line breaks and
// quotes stay, so every range still points at the same place.
func maskSecrets(files Files, diags hcl.Diagnostics) {
	for _, d := range diags {
		sv, ok := d.Extra.(secretValue)
		if !ok {
			continue
		}
		f := files[sv.value.Filename]
		start, end := sv.value.Start.Byte, sv.value.End.Byte
		if f == nil || start < 0 || start > end || end > len(f.Bytes) {
			continue
		}
		for i := start; i < end; i++ {
			if c := f.Bytes[i]; c != '\n' && c != '\r' && c != '"' {
				f.Bytes[i] = '*'
			}
		}
	}
}
