package azure

import (
	"os/exec"
	"strings"
	"testing"
)

// TestOnlyThisPackageLinksTheStorageSDK keeps the Azure SDK's storage
// modules out of the rest of collect: only this package and the command
// that wires it may link them, so that the core packages build and test
// without them.
func TestOnlyThisPackageLinksTheStorageSDK(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	const module = "github.com/collect-ediscovery/collect/"
	const sdk = "github.com/Azure/azure-sdk-for-go/sdk/storage/"
	out, err := exec.Command("go", "list", "-f",
		"{{.ImportPath}} {{join .Deps \" \"}} {{join .TestImports \" \"}} {{join .XTestImports \" \"}}",
		module+"...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	allowed := map[string]bool{module + "backend/azure": true, module + "cmd/collect": true}
	linkers := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		pkg := fields[0]
		for _, dep := range fields[1:] {
			if !strings.HasPrefix(dep, sdk) {
				continue
			}
			if !allowed[pkg] {
				t.Errorf("%s links %s; only backend/azure and cmd/collect may", pkg, dep)
			}
			linkers++
			break
		}
	}
	if linkers == 0 {
		t.Error("no package links the storage SDK, not even backend/azure: go list's answer is not what this test reads")
	}
}
