package layout

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// textMatchers are the strings functions that decide by looking inside
// a text.
var textMatchers = map[string]bool{
	"Contains": true, "ContainsAny": true, "HasPrefix": true, "HasSuffix": true,
	"EqualFold": true, "Index": true, "Count": true,
}

// errorTextFields are the fields that hold an error's words: graph.Error's
// Message, a failure record's Message, a diagnostic's Detail, oauth2's
// ErrorDescription.
var errorTextFields = map[string]bool{"Message": true, "Detail": true, "ErrorDescription": true}

// TestNoDecisionOnErrorText keeps collect deciding by error kinds and
// values, never by the words of an error: no non-test file calls
// strings.Contains, HasPrefix, EqualFold and the like on err.Error(), on a
// variable holding it, or on an error's message field.
func TestNoDecisionOnErrorText(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			// The Source conformance suite is test code: it asserts on
			// what an error says to a person, it decides nothing by it.
			if filepath.ToSlash(path) == filepath.ToSlash(filepath.Join(root, "graph", "graphtest")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		files++
		for _, bad := range errorTextMatches(f) {
			t.Errorf("%s: strings.%s on error text; decide by graph.KindOf, errors.Is or errors.As instead", fset.Position(bad.Pos()), selName(bad))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("read %d Go files; the walk seems to miss the tree", files)
	}
}

// TestErrorTextCheckFindsTheShapes makes sure the check above sees what it
// is meant to refuse, so that it cannot pass by seeing nothing.
func TestErrorTextCheckFindsTheShapes(t *testing.T) {
	const src = `package p
import "strings"
func f(err error, ge struct{ Message string }) {
	_ = strings.Contains(err.Error(), "reset")
	msg := err.Error()
	_ = strings.HasPrefix(msg, "x")
	_ = strings.EqualFold(ge.Message, "y")
	_ = strings.Contains("fine", "f")
	_ = strings.HasPrefix(ge.Name, "fine")
}`
	f, err := parser.ParseFile(token.NewFileSet(), "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(errorTextMatches(f)); got != 3 {
		t.Errorf("found %d matches on error text, want 3", got)
	}
}

// errorTextMatches are the calls of f that match on error text.
func errorTextMatches(f *ast.File) []*ast.CallExpr {
	var out []*ast.CallExpr
	ast.Inspect(f, func(n ast.Node) bool {
		fn, ok := n.(*ast.FuncDecl)
		if !ok || fn.Body == nil {
			return true
		}
		// Names that hold an error's text in this function: msg := err.Error().
		texts := map[string]bool{}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			if as, ok := n.(*ast.AssignStmt); ok && len(as.Lhs) == len(as.Rhs) {
				for i, rhs := range as.Rhs {
					if id, ok := as.Lhs[i].(*ast.Ident); ok && isErrorText(rhs, nil) {
						texts[id.Name] = true
					}
				}
			}
			return true
		})
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || !isStringsMatcher(call) {
				return true
			}
			for _, arg := range call.Args {
				if isErrorText(arg, texts) {
					out = append(out, call)
					break
				}
			}
			return true
		})
		return false
	})
	return out
}

func isStringsMatcher(call *ast.CallExpr) bool {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	pkg, ok := sel.X.(*ast.Ident)
	return ok && pkg.Name == "strings" && textMatchers[sel.Sel.Name]
}

func selName(call *ast.CallExpr) string { return call.Fun.(*ast.SelectorExpr).Sel.Name }

// isErrorText reports whether e is x.Error(), an error's message field,
// or a name known to hold one of those.
func isErrorText(e ast.Expr, texts map[string]bool) bool {
	switch e := e.(type) {
	case *ast.CallExpr:
		if sel, ok := e.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Error" && len(e.Args) == 0 {
			return true
		}
		// strings.ToLower(err.Error()) and the like.
		for _, a := range e.Args {
			if isErrorText(a, texts) {
				return true
			}
		}
	case *ast.SelectorExpr:
		return errorTextFields[e.Sel.Name]
	case *ast.Ident:
		return texts[e.Name]
	case *ast.ParenExpr:
		return isErrorText(e.X, texts)
	}
	return false
}
