package main

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/collect-ediscovery/collect/config"
	"github.com/hashicorp/hcl/v2"
	"github.com/rogpeppe/go-internal/diff"
)

const fmtHelp = `Usage: collect [global options] fmt [options] [target ...]

  Rewrites matter files (*.collect.hcl) in canonical format: indentation,
  spacing and aligned equals signs. Targets are files or folders; the
  default is the current folder. A target of - formats standard input to
  standard output. Formatting never changes what a matter means.

Options:
  -check        Only check: exit 3 when a file needs formatting. Writes nothing.
  -diff         Show the changes as a unified diff.
  -recursive    Also format files in subfolders.
  -write=false  Do not rewrite the files.
  -list=false   Do not list the files that need formatting.
  -no-color     Do not color the output.
`

func runFmt(s *streams, args []string) int {
	opts, diags := ParseFmt(args)
	if diags.HasErrors() {
		s.writeDiags(diags, nil)
		return exitError
	}
	if len(opts.Targets) == 1 && opts.Targets[0] == "-" {
		return fmtStdin(s, opts)
	}
	targets := opts.Targets
	if len(targets) == 0 {
		targets = []string{"."}
	}
	var paths []string
	for _, t := range targets {
		found, err := fmtFiles(t, opts.Recursive)
		if err != nil {
			s.writeDiags(errorDiag("Cannot read a fmt target", fmt.Sprintf("%v. Check the path.", err)), nil)
			return exitError
		}
		paths = append(paths, found...)
	}
	unformatted, failed := 0, false
	for _, p := range paths {
		changed, ok := fmtFile(s, opts, p)
		failed = failed || !ok
		if changed {
			unformatted++
		}
	}
	switch {
	case failed:
		return exitError
	case opts.Check && unformatted > 0:
		return exitUnformatted
	}
	return exitOK
}

// fmtFiles lists the matter files a target names: the file itself, or
// the *.collect.hcl files of a folder (and its subfolders with -recursive,
// skipping hidden folders such as .git).
func fmtFiles(target string, recursive bool) ([]string, error) {
	st, err := os.Stat(target)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{target}, nil
	}
	var out []string
	err = filepath.WalkDir(target, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != target && (!recursive || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(d.Name(), config.FileSuffix) {
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

func fmtFile(s *streams, opts Fmt, path string) (changed, ok bool) {
	src, err := os.ReadFile(path)
	if err != nil {
		s.writeDiags(errorDiag("Cannot read a matter file", err.Error()), nil)
		return false, false
	}
	out, diags := config.Format(src, path)
	if diags.HasErrors() {
		s.writeDiags(diags, config.Files{path: parsedForSnippet(src, path)})
		return false, false
	}
	if bytes.Equal(src, out) {
		return false, true
	}
	if opts.List {
		fmt.Fprintln(s.stdout, filepath.ToSlash(path))
	}
	if opts.Diff {
		s.stdout.Write(diff.Diff("old/"+filepath.ToSlash(path), src, "new/"+filepath.ToSlash(path), out))
	}
	if opts.Write {
		st, err := os.Stat(path)
		if err == nil {
			err = os.WriteFile(path, out, st.Mode().Perm())
		}
		if err != nil {
			s.writeDiags(errorDiag("Cannot write a matter file", err.Error()), nil)
			return true, false
		}
	}
	return true, true
}

func fmtStdin(s *streams, opts Fmt) int {
	src, err := io.ReadAll(s.stdin)
	if err != nil {
		s.writeDiags(errorDiag("Cannot read standard input", err.Error()), nil)
		return exitError
	}
	out, diags := config.Format(src, "<stdin>")
	if diags.HasErrors() {
		s.writeDiags(diags, config.Files{"<stdin>": parsedForSnippet(src, "<stdin>")})
		return exitError
	}
	switch {
	case opts.Check:
		if !bytes.Equal(src, out) {
			return exitUnformatted
		}
	case opts.Diff:
		s.stdout.Write(diff.Diff("old/<stdin>", src, "new/<stdin>", out))
	default:
		s.stdout.Write(out)
	}
	return exitOK
}

// parsedForSnippet gives the diagnostic writer the source of a file that
// failed to parse, so the error shows the offending line.
func parsedForSnippet(src []byte, name string) *hcl.File {
	return &hcl.File{Bytes: src}
}
