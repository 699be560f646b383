package config

import (
	"fmt"
	"os"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// EnvVarPrefix prefixes environment variables that set matter variables.
const EnvVarPrefix = "COLLECT_VAR_"

type varDecl struct {
	v        *Variable
	typ      cty.Type
	def      cty.Value
	hasDef   bool
	val      cty.Value
	valRange *hcl.Range // where the value was written, when it was in a file
	checks   []*block
	typeOK   bool
	// failed is set when a value was given but refused, or the name is
	// refused; that error is reported, so "no value" would only add noise.
	failed bool
}

// variables declares every variable, then gives each its value in
// Terraform's order of precedence: default, then the environment, then
// -var and -var-file in the order given.
func (l *loader) variables(bs []*block) []*Variable {
	decls := map[string]*varDecl{}
	var order []*varDecl
	for _, b := range bs {
		d := &varDecl{v: &Variable{Name: b.label(), DeclRange: b.syn.DefRange()}, typ: cty.DynamicPseudoType, typeOK: true}
		if secretLike(d.v.Name) {
			var value *hcl.Range
			if a := b.attrs["default"]; a != nil {
				value = a.Expr.Range().Ptr()
			}
			l.diags = append(l.diags, secretDiag("variable", d.v.Name, b.syn.LabelRanges[0], value))
			d.failed = true
		}
		if a := b.attrs["description"]; a != nil {
			d.v.Description, _ = l.constStr(a)
		}
		if a := b.attrs["sensitive"]; a != nil {
			v, ds := a.Expr.Value(nil)
			if !ds.HasErrors() {
				if bv, err := convert.Convert(v, cty.Bool); err == nil && !bv.IsNull() {
					d.v.Sensitive = bv.True()
				} else {
					l.errorf(a.Expr.Range().Ptr(), "Invalid sensitive value", "sensitive must be true or false.")
				}
			} else {
				l.add(ds)
			}
		}
		if a := b.attrs["type"]; a != nil {
			t, ds := typeexpr.TypeConstraint(a.Expr)
			l.add(ds)
			if ds.HasErrors() {
				d.typeOK = false
			} else {
				d.typ = t
			}
		}
		if a := b.attrs["default"]; a != nil {
			v, ds := a.Expr.Value(nil)
			if ds.HasErrors() {
				l.errorf(a.Expr.Range().Ptr(), "Invalid default value",
					"A variable's default must be a literal value: it cannot refer to other variables or locals.")
				d.failed = true
			} else if cv, err := convert.Convert(v, d.typ); err != nil {
				l.errorf(a.Expr.Range().Ptr(), "Invalid default value",
					"The default for variable %q does not match its type: %s.", d.v.Name,
					strings.TrimSuffix(err.Error(), "."))
				d.failed = true
			} else {
				d.def, d.hasDef = cv, true
				d.val, d.v.Source = cv, "default"
			}
		}
		for _, inner := range b.inner {
			attrs, _, ds := checkBody(inner.Body, validationSchema, "in a validation block", inner.DefRange())
			l.add(ds)
			d.checks = append(d.checks, &block{syn: inner, attrs: attrs})
		}
		decls[d.v.Name] = d
		order = append(order, d)
		l.scope.varNames[d.v.Name] = true
	}

	for _, kv := range l.opts.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, EnvVarPrefix) {
			continue
		}
		name := strings.TrimPrefix(k, EnvVarPrefix)
		if d := decls[name]; d != nil {
			l.setRaw(d, v, "env "+k)
		}
	}
	for _, opt := range l.opts.Vars {
		if opt.File != "" {
			l.varFile(opt.File, decls)
			continue
		}
		name, raw, ok := strings.Cut(opt.Assignment, "=")
		if !ok || strings.TrimSpace(name) == "" {
			l.errorf(nil, "Invalid -var option",
				"The -var option %q is not name=value. Write it as -var 'name=value'.", opt.Assignment)
			continue
		}
		name = strings.TrimSpace(name)
		d := decls[name]
		if d == nil {
			detail := fmt.Sprintf("A -var option sets %q, but the matter declares no such variable.", name)
			if s := suggest(name, keys(decls)); s != "" {
				detail += fmt.Sprintf(" Did you mean %q?", s)
			} else {
				detail += fmt.Sprintf(" Declare it with a variable %q block, or remove the option.", name)
			}
			l.errorf(nil, "Value for undeclared variable", "%s", detail)
			continue
		}
		l.setRaw(d, raw, "-var")
	}

	var out []*Variable
	for _, d := range order {
		out = append(out, d.v)
		if !d.typeOK || d.val == cty.NilVal {
			// Reported below or already: uses of the variable depend on an error.
			l.scope.vars[d.v.Name] = cty.DynamicVal
		}
		if !d.typeOK {
			continue
		}
		if d.val == cty.NilVal {
			if d.failed {
				continue
			}
			l.errorf(d.v.DeclRange.Ptr(), "No value for required variable",
				"The variable %q has no default and no value was given. Set it with -var '%s=...', "+
					"a -var-file, or the environment variable %s%s.", d.v.Name, d.v.Name, EnvVarPrefix, d.v.Name)
			continue
		}
		l.scope.vars[d.v.Name] = d.val
	}
	for _, d := range order {
		if d.val != cty.NilVal {
			l.validateVar(d)
		}
	}
	return out
}

func (l *loader) constStr(a *hclsyntax.Attribute) (string, bool) {
	v, ds := a.Expr.Value(nil)
	if ds.HasErrors() {
		l.add(ds)
		return "", false
	}
	sv, err := convert.Convert(v, cty.String)
	if err != nil || sv.IsNull() {
		l.errorf(a.Expr.Range().Ptr(), "Incorrect value type", "%s must be a string.", a.Name)
		return "", false
	}
	return sv.AsString(), true
}

// setRaw sets a variable from a string given on the command line or in
// the environment. As in Terraform, a string, number or bool variable
// takes the text as it is; a list, map or object is parsed as an
// expression.
func (l *loader) setRaw(d *varDecl, raw, source string) {
	var v cty.Value
	if d.typ.IsPrimitiveType() || d.typ == cty.DynamicPseudoType {
		v = cty.StringVal(raw)
	} else {
		expr, ds := hclsyntax.ParseExpression([]byte(raw), source, hcl.InitialPos)
		if !ds.HasErrors() {
			v, ds = expr.Value(nil)
		}
		if ds.HasErrors() {
			l.errorf(nil, "Invalid value for variable",
				"The value of variable %q from %s is not a valid %s: %s. A list, map or object is written "+
					"as an expression with quoted strings, such as [\"a@contoso.com\", \"b@contoso.com\"].",
				d.v.Name, source, d.typ.FriendlyNameForConstraint(), strings.TrimSuffix(ds[0].Detail, "."))
			d.failed = true
			return
		}
	}
	cv, err := convert.Convert(v, d.typ)
	if err != nil {
		l.errorf(nil, "Invalid value for variable", "The value of variable %q from %s is not a valid %s: %s.",
			d.v.Name, source, d.typ.FriendlyNameForConstraint(), strings.TrimSuffix(err.Error(), "."))
		d.failed = true
		return
	}
	d.val, d.v.Source, d.valRange = cv, source, nil
}

func (l *loader) varFile(path string, decls map[string]*varDecl) {
	src, err := os.ReadFile(path)
	if err != nil {
		l.errorf(nil, "Cannot read variables file", "%v. Check the path given to -var-file.", err)
		return
	}
	f, ds := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if f != nil && l.files[path] == nil {
		l.files[path] = f
	}
	if ds.HasErrors() {
		l.add(ds)
		return
	}
	attrs, ds := f.Body.JustAttributes()
	if ds.HasErrors() {
		l.add(ds)
		return
	}
	for _, a := range sortedAttrs(attrs) {
		d := decls[a.Name]
		if d == nil {
			detail := fmt.Sprintf("The file %s sets %q, but the matter declares no such variable; the value is ignored.",
				path, a.Name)
			if s := suggest(a.Name, keys(decls)); s != "" {
				detail += fmt.Sprintf(" Did you mean %q? As written, var.%s keeps the value it would have without this file.", s, s)
			}
			l.warnf(a.NameRange.Ptr(), "Value for undeclared variable", "%s", detail)
			continue
		}
		v, ds := a.Expr.Value(nil)
		if ds.HasErrors() {
			l.add(ds)
			d.failed = true
			continue
		}
		cv, err := convert.Convert(v, d.typ)
		if err != nil {
			l.errorf(a.Expr.Range().Ptr(), "Invalid value for variable", "The value of variable %q is not a valid %s: %s.",
				a.Name, d.typ.FriendlyNameForConstraint(), strings.TrimSuffix(err.Error(), "."))
			d.failed = true
			continue
		}
		d.val, d.v.Source, d.valRange = cv, "-var-file="+path, a.Expr.Range().Ptr()
	}
}

func sortedAttrs(attrs hcl.Attributes) []*hcl.Attribute {
	out := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, a)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Range.Start.Byte < out[j-1].Range.Start.Byte; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// validateVar runs a variable's validation blocks against its value.
func (l *loader) validateVar(d *varDecl) {
	for _, c := range d.checks {
		cond, msg := c.attrs["condition"], c.attrs["error_message"]
		if cond == nil || msg == nil {
			continue
		}
		for _, tr := range cond.Expr.Variables() {
			if tr.RootName() != "var" || len(tr) < 2 {
				l.errorf(tr.SourceRange().Ptr(), "Invalid validation condition",
					"A validation condition may only refer to the variable it checks, var.%s.", d.v.Name)
				return
			}
			if at, ok := tr[1].(hcl.TraverseAttr); !ok || at.Name != d.v.Name {
				l.errorf(tr.SourceRange().Ptr(), "Invalid validation condition",
					"A validation condition may only refer to the variable it checks, var.%s.", d.v.Name)
				return
			}
		}
		ctx := &hcl.EvalContext{
			Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{d.v.Name: d.val})},
			Functions: l.scope.funcs,
		}
		v, ds := cond.Expr.Value(ctx)
		if ds.HasErrors() {
			l.add(ds)
			continue
		}
		bv, err := convert.Convert(v, cty.Bool)
		if err != nil || bv.IsNull() {
			l.errorf(cond.Expr.Range().Ptr(), "Invalid validation condition", "The condition must be true or false.")
			continue
		}
		if bv.True() {
			continue
		}
		text, ok := l.constStr(msg)
		if !ok {
			continue
		}
		subject := d.valRange
		if subject == nil {
			subject = cond.Expr.Range().Ptr()
		}
		l.errorf(subject, "Invalid value for variable",
			"%s\n\nThe value of var.%s came from %s; this was checked by the validation rule at %s.",
			text, d.v.Name, d.v.Source, c.syn.DefRange())
	}
}

// locals evaluates every locals block. A local may refer to variables and
// to other locals in any order; a cycle is an error.
func (l *loader) locals(bs []*block) {
	pending := map[string]*hclsyntax.Attribute{}
	for _, b := range bs {
		for _, a := range sortedSyntaxAttrs(b.attrs) {
			if prev := pending[a.Name]; prev != nil {
				l.errorf(a.NameRange.Ptr(), "Duplicate local value",
					"A local value named %q was already declared at %s.", a.Name, prev.NameRange)
				continue
			}
			pending[a.Name] = a
			l.scope.localNames[a.Name] = true
		}
	}
	for _, name := range keys(pending) {
		if ds := l.scope.checkRefs(pending[name].Expr); ds.HasErrors() {
			// Reported here; whatever uses this local depends on an error.
			l.add(ds)
			l.scope.locals[name] = cty.DynamicVal
			delete(pending, name)
		}
	}
	for len(pending) > 0 {
		progress := false
		for _, name := range keys(pending) {
			a := pending[name]
			ready := true
			for _, tr := range a.Expr.Variables() {
				if tr.RootName() == "local" && len(tr) > 1 {
					if at, ok := tr[1].(hcl.TraverseAttr); ok {
						if _, done := l.scope.locals[at.Name]; !done {
							ready = false
						}
					}
				}
			}
			if !ready {
				continue
			}
			v, ds := a.Expr.Value(l.scope.ctx())
			l.add(ds)
			if ds.HasErrors() {
				v = cty.DynamicVal
			}
			l.scope.locals[name] = v
			delete(pending, name)
			progress = true
		}
		if !progress {
			for _, name := range keys(pending) {
				l.errorf(pending[name].NameRange.Ptr(), "Cycle in local values",
					"The local value %q depends on itself through other local values. Break the cycle.", name)
				l.scope.locals[name] = cty.DynamicVal
			}
			return
		}
	}
}

func sortedSyntaxAttrs(m map[string]*hclsyntax.Attribute) []*hclsyntax.Attribute {
	out := make([]*hclsyntax.Attribute, 0, len(m))
	for _, name := range keys(m) {
		out = append(out, m[name])
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].SrcRange.Start.Byte < out[j-1].SrcRange.Start.Byte; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
