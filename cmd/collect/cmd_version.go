package main

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// version is set at release build time with
// -ldflags "-X main.version=v1.2.3"; otherwise it comes from the module
// build information, or reads "dev" with the commit the binary was built
// from when the build recorded it.
var version = ""

// build is what collect knows of its own build.
type build struct {
	Version     string // release or module version, or "dev"
	VCSRevision string // commit the binary was built from, when recorded
	VCSModified bool   // the working tree had changes
}

func readBuild() build {
	bi, _ := debug.ReadBuildInfo()
	return buildOf(version, bi)
}

// buildOf reads a build from the release version set at link time and the
// build information Go records (nil when there is none).
func buildOf(release string, bi *debug.BuildInfo) build {
	b := build{Version: release}
	if bi != nil {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				b.VCSRevision = s.Value
			case "vcs.modified":
				b.VCSModified = s.Value == "true"
			}
		}
		if v := bi.Main.Version; b.Version == "" && v != "" && v != "(devel)" && !pseudoVersionOf(v, b.VCSRevision) {
			b.Version = v
		}
	}
	if b.Version == "" {
		b.Version = "dev"
	}
	return b
}

// pseudoVersionOf reports whether v is the pseudo-version Go makes up for
// an untagged commit rev (v0.0.0-20260101120000-abcdef123456, with
// +dirty for a changed tree): not a release.
func pseudoVersionOf(v, rev string) bool {
	v = strings.TrimSuffix(v, "+dirty")
	return len(rev) >= 12 && strings.HasSuffix(v, "-"+rev[:12])
}

// String is the version as collect shows and records it: a release as it
// is, a development build with its commit, "dev (abc1234, modified)".
func (b build) String() string {
	if b.Version != "dev" || b.VCSRevision == "" {
		return b.Version
	}
	rev := b.VCSRevision
	if len(rev) > 7 {
		rev = rev[:7]
	}
	if b.VCSModified {
		return "dev (" + rev + ", modified)"
	}
	return "dev (" + rev + ")"
}

func toolVersion() string { return readBuild().String() }

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
	bld := readBuild()
	v.Version(versionDoc{Collect: bld.String(), VCSRevision: bld.VCSRevision, VCSModified: bld.VCSModified,
		Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH})
	return exitOK
}
