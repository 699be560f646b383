package main

import (
	"fmt"
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

// Format versions of what collect writes. A reader refuses a newer one.
const (
	validateFormatVersion = "1.0"
)

const versionHelp = `Usage: collect [global options] version [options]

  Shows the version of collect, the Go version it was built with, and the
  versions of the formats it reads and writes.

Options:
  -json   Print the versions as JSON.
`

func runVersion(s *streams, args []string) int {
	opts, diags := ParseVersion(args)
	if diags.HasErrors() {
		s.writeDiags(diags, nil)
		return exitError
	}
	info := map[string]string{
		"collect":                 toolVersion(),
		"go":                      runtime.Version(),
		"platform":                runtime.GOOS + "/" + runtime.GOARCH,
		"validate_format_version": validateFormatVersion,
	}
	if opts.JSON {
		if err := writeJSON(s.stdout, info); err != nil {
			return exitError
		}
		return exitOK
	}
	fmt.Fprintf(s.stdout, "collect %s\n", info["collect"])
	fmt.Fprintf(s.stdout, "built with %s for %s\n", info["go"], info["platform"])
	fmt.Fprintf(s.stdout, "validate -json format %s\n", validateFormatVersion)
	return exitOK
}
