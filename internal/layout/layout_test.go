// Package layout holds tests of the shape of the code base itself.
package layout

import (
	"os/exec"
	"strings"
	"testing"
)

// heavy are the modules only graph/msgraph (and the command that wires it)
// may link: the Graph SDK takes minutes and gigabytes to compile, and the
// core packages must stay testable without it.
var heavy = []string{
	"github.com/microsoftgraph/msgraph-sdk-go",
	"github.com/microsoft/kiota-",
}

func TestCorePackagesDoNotLinkTheGraphSDK(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	const module = "github.com/collect-ediscovery/collect/"
	all, err := exec.Command("go", "list", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	allowed := map[string]bool{module + "graph/msgraph": true, module + "cmd/collect": true}
	checked := 0
	for _, pkg := range strings.Fields(string(all)) {
		if allowed[pkg] {
			continue
		}
		checked++
		out, err := exec.Command("go", "list", "-deps", "-test", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, h := range heavy {
				if strings.HasPrefix(dep, h) {
					t.Errorf("%s links %s; only graph/msgraph and cmd/collect may", pkg, dep)
				}
			}
		}
	}
	if checked < 6 {
		t.Errorf("checked %d packages; the core packages seem missing from go list", checked)
	}
}

// TestSignInLinksOnlyOAuth2 keeps graph/entra small: sign-in builds on
// golang.org/x/oauth2, the standard library, graph, internal/durable (for
// the token cache) and internal/clock, nothing else, and
// its tests (which run against the simulator) never link the Graph SDK.
func TestSignInLinksOnlyOAuth2(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	const module = "github.com/collect-ediscovery/collect/"
	const pkg = module + "graph/entra"
	list := func(args ...string) []string {
		out, err := exec.Command("go", append([]string{"list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %v: %v\n%s", args, err, out)
		}
		return strings.Fields(string(out))
	}
	deps := list(pkg)
	if len(deps) == 0 {
		t.Fatalf("go list found no dependencies of %s", pkg)
	}
	for _, dep := range deps {
		switch {
		case dep == pkg, dep == module+"graph", dep == module+"internal/durable", dep == module+"internal/clock",
			dep == "golang.org/x/oauth2", strings.HasPrefix(dep, "golang.org/x/oauth2/"):
		default:
			t.Errorf("%s imports %s; sign-in may use only golang.org/x/oauth2, the standard library, graph, internal/durable and internal/clock", pkg, dep)
		}
	}
	for _, dep := range list("-test", pkg) {
		for _, h := range heavy {
			if strings.HasPrefix(dep, h) {
				t.Errorf("the tests of %s link %s", pkg, dep)
			}
		}
	}
}

// TestSharedMechanismsUseOnlyTheStandardLibrary keeps the clock and the
// durable-file writer importable from every package, sign-in included.
func TestSharedMechanismsUseOnlyTheStandardLibrary(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	const module = "github.com/collect-ediscovery/collect/"
	for _, pkg := range []string{module + "internal/clock", module + "internal/durable"} {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		deps := strings.Fields(string(out))
		if len(deps) != 1 || deps[0] != pkg {
			t.Errorf("%s depends on %v besides the standard library; it may use only the standard library", pkg, deps)
		}
	}
}
