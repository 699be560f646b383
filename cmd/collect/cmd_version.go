package main

import (
	"runtime"
	"runtime/debug"
)

// version is set at release build time with
// -ldflags "-X main.version=v1.2.3"; otherwise it comes from the module
// build information, or reads "dev".
var version = ""

func toolVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

const versionHelp = `Usage: collect [global options] version [options]

  Shows the version of collect, the Go version it was built with, and the
  version of the JSON formats it reads and writes.

Options:
  -json   Print the versions as JSON.
`

func runVersion(s *streams, args []string) int {
	opts, diags := ParseVersion(args)
	v := newVersionView(s, opts.JSON)
	if diags.HasErrors() {
		s.writeDiags(diags, nil)
		return exitError
	}
	v.Version(versionDoc{Collect: toolVersion(), Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH})
	return exitOK
}
