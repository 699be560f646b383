package config

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// functions are the go-cty standard functions a matter may call. Only
// deterministic ones: a matter must mean the same thing every time it is
// read, so there is no timestamp(), uuid() or file().
func functions() map[string]function.Function {
	return map[string]function.Function{
		"abs":             stdlib.AbsoluteFunc,
		"can":             tryfunc.CanFunc,
		"ceil":            stdlib.CeilFunc,
		"chomp":           stdlib.ChompFunc,
		"chunklist":       stdlib.ChunklistFunc,
		"coalesce":        stdlib.CoalesceFunc,
		"coalescelist":    stdlib.CoalesceListFunc,
		"compact":         stdlib.CompactFunc,
		"concat":          stdlib.ConcatFunc,
		"contains":        stdlib.ContainsFunc,
		"csvdecode":       stdlib.CSVDecodeFunc,
		"distinct":        stdlib.DistinctFunc,
		"element":         stdlib.ElementFunc,
		"flatten":         stdlib.FlattenFunc,
		"floor":           stdlib.FloorFunc,
		"format":          stdlib.FormatFunc,
		"formatdate":      stdlib.FormatDateFunc,
		"formatlist":      stdlib.FormatListFunc,
		"indent":          stdlib.IndentFunc,
		"index":           stdlib.IndexFunc,
		"join":            stdlib.JoinFunc,
		"jsondecode":      stdlib.JSONDecodeFunc,
		"jsonencode":      stdlib.JSONEncodeFunc,
		"keys":            stdlib.KeysFunc,
		"length":          stdlib.LengthFunc,
		"log":             stdlib.LogFunc,
		"lookup":          stdlib.LookupFunc,
		"lower":           stdlib.LowerFunc,
		"max":             stdlib.MaxFunc,
		"merge":           stdlib.MergeFunc,
		"min":             stdlib.MinFunc,
		"parseint":        stdlib.ParseIntFunc,
		"pow":             stdlib.PowFunc,
		"range":           stdlib.RangeFunc,
		"regex":           stdlib.RegexFunc,
		"regexall":        stdlib.RegexAllFunc,
		"regex_replace":   stdlib.RegexReplaceFunc,
		"replace":         stdlib.ReplaceFunc,
		"reverse":         stdlib.ReverseListFunc,
		"setintersection": stdlib.SetIntersectionFunc,
		"setproduct":      stdlib.SetProductFunc,
		"setsubtract":     stdlib.SetSubtractFunc,
		"setunion":        stdlib.SetUnionFunc,
		"signum":          stdlib.SignumFunc,
		"slice":           stdlib.SliceFunc,
		"sort":            stdlib.SortFunc,
		"split":           stdlib.SplitFunc,
		"strlen":          stdlib.StrlenFunc,
		"strrev":          stdlib.ReverseFunc,
		"substr":          stdlib.SubstrFunc,
		"timeadd":         stdlib.TimeAddFunc,
		"title":           stdlib.TitleFunc,
		"trim":            stdlib.TrimFunc,
		"try":             tryfunc.TryFunc,
		"trimprefix":      stdlib.TrimPrefixFunc,
		"trimspace":       stdlib.TrimSpaceFunc,
		"trimsuffix":      stdlib.TrimSuffixFunc,
		"upper":           stdlib.UpperFunc,
		"values":          stdlib.ValuesFunc,
		"zipmap":          stdlib.ZipmapFunc,
	}
}

// scope is what expressions can see while a matter is read.
type scope struct {
	vars   map[string]cty.Value
	locals map[string]cty.Value
	funcs  map[string]function.Function
	// declared names, for checking references before evaluating them
	varNames   map[string]bool
	localNames map[string]bool
}

func (s *scope) ctx() *hcl.EvalContext {
	return &hcl.EvalContext{
		Variables: map[string]cty.Value{
			"var":   objectOf(s.vars),
			"local": objectOf(s.locals),
		},
		Functions: s.funcs,
	}
}

func objectOf(m map[string]cty.Value) cty.Value {
	if len(m) == 0 {
		return cty.EmptyObjectVal
	}
	return cty.ObjectVal(m)
}

// checkRefs reports references an expression makes to names that do not
// exist, with a suggestion, before the expression is evaluated. window and
// custodian references are only valid inside windows and custodians lists,
// which are read without evaluation.
func (s *scope) checkRefs(expr hcl.Expression) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, tr := range expr.Variables() {
		root := tr.RootName()
		switch root {
		case "var", "local":
			names, kind := s.varNames, "input variable"
			if root == "local" {
				names, kind = s.localNames, "local value"
			}
			if len(tr) < 2 {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid reference",
					Detail:   fmt.Sprintf("A reference to %s needs a name after it, such as %s.example.", root, root),
					Subject:  tr.SourceRange().Ptr(),
				})
				continue
			}
			attr, ok := tr[1].(hcl.TraverseAttr)
			if !ok {
				continue
			}
			if !names[attr.Name] {
				detail := fmt.Sprintf("An %s named %q has not been declared.", kind, attr.Name)
				if root == "local" {
					detail = fmt.Sprintf("A local value named %q has not been declared.", attr.Name)
				}
				if sug := suggest(attr.Name, keys(names)); sug != "" {
					detail += fmt.Sprintf(" Did you mean %s.%s?", root, sug)
				} else if root == "var" {
					detail += fmt.Sprintf(" Declare it with a variable %q block.", attr.Name)
				}
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Reference to undeclared " + kind,
					Detail:   detail,
					Subject:  tr.SourceRange().Ptr(),
				})
			}
		case "window", "custodian":
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid reference",
				Detail: fmt.Sprintf("A %s reference is only valid as an item of a %ss list, as in %ss = [%s.example].",
					root, root, root, root),
				Subject: tr.SourceRange().Ptr(),
			})
		default:
			detail := fmt.Sprintf("There is nothing named %q. References start with var., local., window. or custodian.", root)
			if sug := suggest(root, []string{"var", "local", "window", "custodian"}); sug != "" {
				detail += fmt.Sprintf(" Did you mean %q?", sug)
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Unknown reference",
				Detail:   detail,
				Subject:  tr.SourceRange().Ptr(),
			})
		}
	}
	return append(diags, s.checkFuncs(expr)...)
}

// leftOut are Terraform functions a matter cannot call: they read the
// clock, files, the environment or random values, so the same matter
// could mean something else the next time it is read.
var leftOut = map[string]bool{
	"timestamp": true, "plantimestamp": true, "uuid": true, "uuidv5": true, "bcrypt": true,
	"file": true, "fileexists": true, "fileset": true, "filebase64": true, "templatefile": true,
	"abspath": true, "pathexpand": true,
}

// checkFuncs reports calls to functions a matter does not offer, saying
// why a familiar Terraform function is missing.
func (s *scope) checkFuncs(expr hcl.Expression) hcl.Diagnostics {
	node, ok := expr.(hclsyntax.Node)
	if !ok {
		return nil
	}
	var diags hcl.Diagnostics
	hclsyntax.VisitAll(node, func(n hclsyntax.Node) hcl.Diagnostics {
		call, ok := n.(*hclsyntax.FunctionCallExpr)
		if !ok {
			return nil
		}
		if _, known := s.funcs[call.Name]; known {
			return nil
		}
		detail := fmt.Sprintf("There is no function named %q.", call.Name)
		if leftOut[call.Name] {
			detail = fmt.Sprintf("The function %q is not available in a matter: a matter must mean the same thing "+
				"every time it is read, so functions that read the clock, files or random values are left out. "+
				"Write the value itself, or pass it in with a variable.", call.Name)
		} else if sug := suggest(call.Name, keys(s.funcs)); sug != "" {
			detail += fmt.Sprintf(" Did you mean %q?", sug)
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Call to unknown function",
			Detail:   detail,
			Subject:  call.NameRange.Ptr(),
		})
		return nil
	})
	return diags
}

// value evaluates an expression to a value of the wanted type.
func (s *scope) value(expr hcl.Expression, want cty.Type, what string) (cty.Value, hcl.Diagnostics) {
	if diags := s.checkRefs(expr); diags.HasErrors() {
		return cty.NilVal, diags
	}
	v, diags := expr.Value(s.ctx())
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	if !v.IsWhollyKnown() {
		// Depends on a value that already failed and was reported.
		return cty.NilVal, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Value depends on an error",
			Detail: fmt.Sprintf("%s depends on a variable or local value that has an error of its own; "+
				"fix that error first.", what),
			Subject: expr.Range().Ptr(),
		}}
	}
	if v.IsNull() {
		return cty.NilVal, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Missing value",
			Detail:   fmt.Sprintf("%s must not be null.", what),
			Subject:  expr.Range().Ptr(),
		}}
	}
	cv, err := convert.Convert(v, want)
	if err != nil {
		detail := fmt.Sprintf("%s must be %s: %s.", what, typeName(want), strings.TrimSuffix(err.Error(), "."))
		if got, wanted := valueKind(v.Type()), valueKind(want); got != wanted {
			detail = fmt.Sprintf("%s must be %s, not %s.", what, typeName(want), got)
		}
		return cty.NilVal, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Incorrect value type",
			Detail:   detail,
			Subject:  expr.Range().Ptr(),
		}}
	}
	return cv, nil
}

func (s *scope) str(expr hcl.Expression, what string) (string, hcl.Diagnostics) {
	v, diags := s.value(expr, cty.String, what)
	if diags.HasErrors() {
		return "", diags
	}
	return v.AsString(), nil
}

func (s *scope) strList(expr hcl.Expression, what string) ([]string, hcl.Diagnostics) {
	v, diags := s.value(expr, cty.List(cty.String), what)
	if diags.HasErrors() {
		return nil, diags
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsNull() {
			return nil, hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Missing value",
				Detail:   fmt.Sprintf("%s must not hold null items.", what),
				Subject:  expr.Range().Ptr(),
			}}
		}
		out = append(out, e.AsString())
	}
	return out, nil
}

func (s *scope) number(expr hcl.Expression, what string) (int, hcl.Diagnostics) {
	v, diags := s.value(expr, cty.Number, what)
	if diags.HasErrors() {
		return 0, diags
	}
	bf := v.AsBigFloat()
	if !bf.IsInt() {
		return 0, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Incorrect value type",
			Detail:   fmt.Sprintf("%s must be a whole number.", what),
			Subject:  expr.Range().Ptr(),
		}}
	}
	n, _ := bf.Int64()
	return int(n), nil
}

func (s *scope) boolean(expr hcl.Expression, what string) (bool, hcl.Diagnostics) {
	v, diags := s.value(expr, cty.Bool, what)
	if diags.HasErrors() {
		return false, diags
	}
	return v.True(), nil
}

// valueKind names the shape of a value the way a matter writes it.
func valueKind(t cty.Type) string {
	switch {
	case t == cty.String:
		return "a string"
	case t == cty.Number:
		return "a number"
	case t == cty.Bool:
		return "true or false"
	case t.IsListType() || t.IsTupleType() || t.IsSetType():
		return "a list"
	case t.IsMapType() || t.IsObjectType():
		return "an object"
	}
	return t.FriendlyName()
}

// typeName names a wanted type: a list says what it holds.
func typeName(t cty.Type) string {
	switch {
	case t.IsPrimitiveType():
		return valueKind(t)
	case t.IsListType():
		return "a list of " + t.ElementType().FriendlyNameForConstraint() + "s"
	}
	return t.FriendlyNameForConstraint()
}

// refList reads a list of references of one kind, as in
// windows = [window.a, window.b], without evaluating it, and checks each
// name against the declared ones.
func refList(expr hcl.Expression, kind string, declared map[string]hcl.Range) ([]string, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	items, ds := hcl.ExprList(expr)
	if ds.HasErrors() {
		detail := fmt.Sprintf("%ss must be a list of %s references, as in %ss = [%s.example].", kind, kind, kind, kind)
		if name := singleRef(expr, kind, declared); name != "" {
			detail += fmt.Sprintf(" Here, write %ss = [%s.%s].", kind, kind, name)
		}
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid " + kind + "s list",
			Detail:   detail,
			Subject:  expr.Range().Ptr(),
		}}
	}
	if len(items) == 0 {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Empty " + kind + "s list",
			Detail: fmt.Sprintf("An empty %ss list is ambiguous. Name at least one %s, or remove the argument%s.",
				kind, kind, map[bool]string{true: " to collect the whole mailbox", false: ""}[kind == "window"]),
			Subject: expr.Range().Ptr(),
		}}
	}
	seen := map[string]bool{}
	var names []string
	for _, item := range items {
		tr, ds := hcl.AbsTraversalForExpr(item)
		var step hcl.TraverseAttr
		ok := !ds.HasErrors() && len(tr) == 2 && tr.RootName() == kind
		if ok {
			// window["x"] is an index, not a name: refused like any other shape.
			step, ok = tr[1].(hcl.TraverseAttr)
		}
		if !ok {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid " + kind + " reference",
				Detail:   fmt.Sprintf("Each item must be a %s reference, such as %s.example.", kind, kind),
				Subject:  item.Range().Ptr(),
			})
			continue
		}
		name := step.Name
		if _, ok := declared[name]; !ok {
			detail := fmt.Sprintf("No %s named %q is declared.", kind, name)
			if sug := suggest(name, keys(declared)); sug != "" {
				detail += fmt.Sprintf(" Did you mean %s.%s?", kind, sug)
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Reference to undeclared " + kind,
				Detail:   detail,
				Subject:  item.Range().Ptr(),
			})
			continue
		}
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	return names, diags
}

// singleRef recognizes one reference written where a list belongs,
// window.relevant or "relevant", and returns the name it means.
func singleRef(expr hcl.Expression, kind string, declared map[string]hcl.Range) string {
	if tr, ds := hcl.AbsTraversalForExpr(expr); !ds.HasErrors() && len(tr) == 2 && tr.RootName() == kind {
		if step, ok := tr[1].(hcl.TraverseAttr); ok {
			return step.Name
		}
	}
	if v, ds := expr.Value(nil); !ds.HasErrors() && v.Type() == cty.String && v.IsKnown() && !v.IsNull() {
		if _, ok := declared[v.AsString()]; ok {
			return v.AsString()
		}
	}
	return ""
}

func sortDiags(diags hcl.Diagnostics) {
	sort.SliceStable(diags, func(i, j int) bool {
		a, b := diags[i].Subject, diags[j].Subject
		if a == nil || b == nil {
			return a != nil && b == nil
		}
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		return a.Start.Byte < b.Start.Byte
	})
}
