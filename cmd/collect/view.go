package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/collect-ediscovery/collect/config"
	"github.com/hashicorp/hcl/v2"
)

// streams are where a command writes, and whether color is wanted there.
type streams struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	color  bool
	env    []string
	// files are the matter's files once loaded, for the source lines of
	// diagnostics that point into them.
	files config.Files
	// jsonDiags, when set by a command's JSON view, receives every
	// diagnostic instead of stderr: the view prints them in its document.
	jsonDiags *[]jsonDiagnostic
	// advice holds the facts of the matter's sign-in once known (the
	// tenant block, then who signed in), for the advice on errors.
	advice adviceFacts
	// shard is the shard a command works on (-shard, or the environment);
	// remote its working folder once a command opened its backend.
	shard  config.Shard
	remote *remoteShard
	// pushedTo names the backend and shard an apply collected into.
	pushedTo string
}

func (s *streams) getenv(key string) string {
	for i := len(s.env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(s.env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// colorWanted says whether to color output for w: only on a terminal, and
// never when NO_COLOR is set (https://no-color.org) or -no-color is given.
func colorWanted(w io.Writer, env []string) bool {
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); k == "NO_COLOR" && v != "" {
			return false
		}
	}
	return isTerminal(w)
}

// writeDiags renders diagnostics for a person, with the offending source
// line where there is one.
//
// This is the one place diagnostics are written: with -json, the command's
// view has set jsonDiags and they go into its document instead.
func (s *streams) writeDiags(diags hcl.Diagnostics, files config.Files) {
	if len(diags) == 0 {
		return
	}
	if files == nil {
		files = s.files
	}
	if s.jsonDiags != nil {
		*s.jsonDiags = append(*s.jsonDiags, toJSONDiags(diags, files)...)
		return
	}
	// Not wrapped: addresses, URLs, request IDs and commands in a detail
	// stay on one line, to be copied and searched for whole.
	wr := hcl.NewDiagnosticTextWriter(s.stderr, files, 0, s.color)
	wr.WriteDiagnostics(diags)
}

// jsonDiagnostic is a diagnostic in the shape of Terraform's
// validate -json output.
type jsonDiagnostic struct {
	Severity string       `json:"severity"`
	Summary  string       `json:"summary"`
	Detail   string       `json:"detail"`
	Range    *jsonRange   `json:"range,omitempty"`
	Snippet  *jsonSnippet `json:"snippet,omitempty"`
}

type jsonRange struct {
	Filename string  `json:"filename"`
	Start    jsonPos `json:"start"`
	End      jsonPos `json:"end"`
}

type jsonPos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

type jsonSnippet struct {
	Context              *string `json:"context"`
	Code                 string  `json:"code"`
	StartLine            int     `json:"start_line"`
	HighlightStartOffset int     `json:"highlight_start_offset"`
	HighlightEndOffset   int     `json:"highlight_end_offset"`
}

func toJSONDiags(diags hcl.Diagnostics, files config.Files) []jsonDiagnostic {
	out := make([]jsonDiagnostic, 0, len(diags))
	for _, d := range diags {
		jd := jsonDiagnostic{Severity: "error", Summary: d.Summary, Detail: d.Detail}
		if d.Severity == hcl.DiagWarning {
			jd.Severity = "warning"
		}
		if d.Subject != nil {
			r := *d.Subject
			jd.Range = &jsonRange{
				Filename: r.Filename,
				Start:    jsonPos{r.Start.Line, r.Start.Column, r.Start.Byte},
				End:      jsonPos{r.End.Line, r.End.Column, r.End.Byte},
			}
			jd.Snippet = snippet(r, files)
		}
		out = append(out, jd)
	}
	return out
}

// snippet returns the source lines of a range and where in them the range
// falls, as Terraform's JSON diagnostics do.
func snippet(r hcl.Range, files config.Files) *jsonSnippet {
	f := files[r.Filename]
	if f == nil || r.Start.Byte > len(f.Bytes) {
		return nil
	}
	src := f.Bytes
	lineStart := strings.LastIndexByte(string(src[:r.Start.Byte]), '\n') + 1
	end := r.End.Byte
	if end < r.Start.Byte || end > len(src) {
		end = r.Start.Byte
	}
	lineEnd := len(src)
	if i := strings.IndexByte(string(src[end:]), '\n'); i >= 0 {
		lineEnd = end + i
	}
	if end > r.Start.Byte && src[end-1] == '\n' {
		// A range that ends at a line break ends with its line.
		lineEnd = end - 1
	}
	sn := &jsonSnippet{
		Code:                 string(src[lineStart:lineEnd]),
		StartLine:            r.Start.Line,
		HighlightStartOffset: r.Start.Byte - lineStart,
		HighlightEndOffset:   end - lineStart,
	}
	if sn.HighlightEndOffset > len(sn.Code) {
		sn.HighlightEndOffset = len(sn.Code)
	}
	if nav, ok := f.Nav.(interface{ ContextString(int) string }); ok {
		if ctx := nav.ContextString(r.Start.Byte); ctx != "" {
			sn.Context = &ctx
		}
	}
	return sn
}

// collectJSONDiags makes s hand its diagnostics to a JSON view, and
// returns where they gather. It is never nil, so documents show [] when
// there were none.
func (s *streams) collectJSONDiags() *[]jsonDiagnostic {
	list := []jsonDiagnostic{}
	s.jsonDiags = &list
	return s.jsonDiags
}

func countDiags(diags hcl.Diagnostics) (errs, warns int) {
	for _, d := range diags {
		if d.Severity == hcl.DiagWarning {
			warns++
		} else {
			errs++
		}
	}
	return errs, warns
}

func suggestName(name string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := levenshtein.Distance(name, c, nil); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%s %s", commas(int64(n)), many)
}

// commas writes a count the way a report does: 1,234.
func commas(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + commas(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
