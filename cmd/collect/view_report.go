package main

import (
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/collect-ediscovery/collect/custody"
)

// reportView renders the collection report as one self-contained HTML
// file (inline style and SVG, no request to anywhere) or as Markdown.
type reportView struct {
	output string // the output folder, as the verify command names it
	// verifyCmd, when set, is the command that verifies the collection
	// instead (a backend's shard has no output folder to hand over).
	verifyCmd string
}

// chartBar is one bar of the messages-per-month chart.
type chartBar struct {
	X, Y, W, H int
	Color      string
	Title      string
}

type chartLabel struct {
	X, Y int
	Text string
}

type reportChart struct {
	Width, Height int
	Bars          []chartBar
	Months        []chartLabel
	Legend        []chartLabel
	Colors        []string
	Max           int
	AxisY         int
}

var chartColors = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"}

// chart lays out grouped bars: one group per month, one bar per custodian.
func chart(d custody.ReportData) reportChart {
	const left, top, plotH, barW, gap = 50, 20, 200, 10, 14
	n := max(len(d.Custodians), 1)
	groupW := max(n*barW+gap, 56) // room for the month's label
	c := reportChart{Width: left + len(d.Months)*groupW + 20, Height: top + plotH + 60, AxisY: top + plotH}
	for _, per := range d.PerMonth {
		for _, v := range per {
			c.Max = max(c.Max, v)
		}
	}
	if c.Max == 0 {
		c.Max = 1
	}
	for mi, month := range d.Months {
		x0 := left + mi*groupW
		c.Months = append(c.Months, chartLabel{X: x0 + n*barW/2, Y: top + plotH + 16, Text: month})
		for ci, cust := range d.Custodians {
			v := d.PerMonth[cust][month]
			h := v * plotH / c.Max
			c.Bars = append(c.Bars, chartBar{X: x0 + ci*barW, Y: top + plotH - h, W: barW - 1, H: h,
				Color: chartColors[ci%len(chartColors)], Title: fmt.Sprintf("%s, %s: %d", cust, month, v)})
		}
	}
	for ci, cust := range d.Custodians {
		c.Legend = append(c.Legend, chartLabel{X: left + ci*140, Y: top + plotH + 44, Text: cust})
		c.Colors = append(c.Colors, chartColors[ci%len(chartColors)])
	}
	if w := left + len(d.Custodians)*140; w > c.Width {
		c.Width = w
	}
	return c
}

type reportPage struct {
	custody.ReportData
	Chart     reportChart
	VerifyCmd string
	Collector string
}

func (v reportView) page(d custody.ReportData) reportPage {
	p := reportPage{ReportData: d, Chart: chart(d)}
	p.VerifyCmd = "collect verify -custody -output=" + v.output
	if v.verifyCmd != "" {
		p.VerifyCmd = v.verifyCmd
	}
	if d.Verifier != "" {
		p.VerifyCmd += " -verifier=" + d.Verifier
	}
	var who []string
	seen := map[string]bool{}
	for _, r := range d.Runs {
		k := r.User + "@" + r.Host
		if !seen[k] {
			seen[k] = true
			who = append(who, k)
		}
	}
	p.Collector = strings.Join(who, ", ")
	return p
}

var reportFuncs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"day": func(t time.Time) string {
		if t.IsZero() {
			return "open"
		}
		return t.UTC().Format("2006-01-02")
	},
	"size":   byteSize,
	"commas": func(n int) string { return commas(int64(n)) },
	"short": func(s string) string {
		if len(s) > 12 {
			return s[:12]
		}
		return s
	},
	"join": func(s []string) string { return strings.Join(s, ", ") },
	"at":   func(xs []int, i int) int { return xs[i] },
	"dec":  func(n int) int { return n - 1 },
}

var reportHTML = template.Must(template.New("report").Funcs(reportFuncs).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Collection report: {{.Matter}}</title>
<style>
body { font-family: Georgia, "Times New Roman", serif; margin: 2em auto; max-width: 64em; color: #111; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; border-bottom: 1px solid #999; margin-top: 2em; }
table { border-collapse: collapse; width: 100%; font-size: 0.9em; margin: 0.5em 0; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; } tr.total td { font-weight: bold; }
pre { background: #f4f4f4; padding: 0.75em; overflow-x: auto; font-size: 0.85em; }
.ok { color: #185c18; font-weight: bold; } .fail { color: #a00; font-weight: bold; }
.sig { margin-top: 2.5em; } .sig span { display: inline-block; border-top: 1px solid #000; width: 20em; margin-right: 3em; padding-top: 0.2em; }
</style>
</head>
<body>
<h1>Collection report: {{.Matter}}</h1>
{{if .Description}}<p>{{.Description}}</p>{{end}}
<p>Generated {{when .Generated}} by collect {{.ToolVersion}} from the state and the output folder.</p>

<h2>Who collected, with what</h2>
<table>
<tr><th>Tenant</th><td>{{.TenantID}}</td></tr>
<tr><th>App (client ID)</th><td>{{.ClientID}}</td></tr>
<tr><th>Sign-in</th><td>{{.Auth}}</td></tr>
<tr><th>Collected by</th><td>{{.Collector}}</td></tr>
<tr><th>Windows</th><td>{{range $i, $w := .Windows}}{{if $i}}; {{end}}{{$w.Name}}: {{day $w.Start}} to {{day $w.End}}{{end}}</td></tr>
</table>

<h2>Runs</h2>
<table>
<tr><th>Run</th><th>Started</th><th>Finished</th><th>Status</th><th>By</th><th>Signed in as</th><th>Tool</th><th>Matter</th><th class="n">Collected</th><th class="n">Bytes</th><th class="n">Failed</th><th class="n">Tombstoned</th></tr>
{{range .Runs}}<tr><td>{{.RunID}}</td><td>{{when .Started}}</td><td>{{when .Finished}}</td><td>{{.Status}}</td><td>{{.User}}@{{.Host}}</td><td>{{with .Collector.Kind}}{{.}}{{else}}—{{end}}{{with .Collector.Account}} {{.}}{{end}}{{with .Collector.TenantID}} ({{.}}){{end}}</td><td>{{.ToolVersion}}</td><td>{{short .MatterHash}}{{if .MatterGitCommit}} (git {{short .MatterGitCommit}}){{end}}</td><td class="n">{{.Collected}}</td><td class="n">{{.Bytes}}</td><td class="n">{{.Failed}}</td><td class="n">{{.Tombstoned}}</td></tr>
{{end}}</table>

<h2>Messages per custodian and mailbox</h2>
<table>
<tr><th>Mailbox</th><th>Custodians</th><th class="n">Messages</th>{{range .Windows}}<th class="n">{{.Name}}</th>{{end}}<th class="n">Outside windows</th><th class="n">Size</th><th class="n">Tombstones</th><th class="n">Moves</th><th class="n">Failures</th></tr>
{{$w := .Windows}}{{range .Mailboxes}}<tr class="mailbox"><td>{{.Address}}</td><td>{{join .Custodians}}</td><td class="n">{{commas .Messages}}</td>{{$mb := .}}{{range $i, $x := $w}}<td class="n">{{at $mb.PerWindow $i}}</td>{{end}}<td class="n">{{.Outside}}</td><td class="n">{{size .Bytes}}</td><td class="n">{{.Tombstones}}</td><td class="n">{{.Moves}}</td><td class="n">{{.Failures}}</td></tr>
{{end}}<tr class="total"><td>All mailboxes</td><td></td><td class="n">{{commas .Totals.Messages}}</td>{{$t := .Totals}}{{range $i, $x := $w}}<td class="n">{{at $t.PerWindow $i}}</td>{{end}}<td class="n">{{.Totals.Outside}}</td><td class="n">{{size .Totals.Bytes}}</td><td class="n">{{.Totals.Tombstones}}</td><td class="n">{{.Totals.Moves}}</td><td class="n">{{.Totals.Failures}}</td></tr>
</table>

<h2>Messages per month per custodian</h2>
<svg xmlns="http://www.w3.org/2000/svg" width="{{.Chart.Width}}" height="{{.Chart.Height}}" role="img" aria-label="Messages per month per custodian">
<line x1="50" y1="{{.Chart.AxisY}}" x2="{{.Chart.Width}}" y2="{{.Chart.AxisY}}" stroke="#333"/>
<text x="4" y="24" font-size="11">{{.Chart.Max}}</text><text x="4" y="{{.Chart.AxisY}}" font-size="11">0</text>
{{range .Chart.Bars}}<rect x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}" fill="{{.Color}}"><title>{{.Title}}</title></rect>
{{end}}{{range .Chart.Months}}<text x="{{.X}}" y="{{.Y}}" font-size="10" text-anchor="middle">{{.Text}}</text>
{{end}}{{$c := .Chart.Colors}}{{range $i, $l := .Chart.Legend}}<rect x="{{$l.X}}" y="{{$l.Y}}" width="10" height="10" fill="{{index $c $i}}"/><text x="{{$l.X}}" y="{{$l.Y}}" dx="14" dy="9" font-size="11">{{$l.Text}}</text>
{{end}}</svg>

<h2>Exception log</h2>
{{if .Exceptions}}<table>
<tr><th>Run</th><th>Mailbox</th><th>Scope</th><th>Message ID</th><th>Code</th><th>What happened</th><th>Request ID</th></tr>
{{range .Exceptions}}<tr><td>{{.RunID}}</td><td>{{.Mailbox}}</td><td>{{.Scope}}</td><td>{{.GraphID}}</td><td>{{.Code}}</td><td>{{.Message}}</td><td>{{.RequestID}}</td></tr>
{{end}}</table>{{else}}<p>No run recorded a failure.</p>{{end}}

<h2>Chain of custody</h2>
{{if .Custody.OK}}<p class="ok">The custody log verifies: {{.Custody.Included}} manifest lines are included in the latest checkpoint, and the log's {{.Custody.Checkpoints}} checkpoint(s) each extend the one before.</p>
{{else}}<p class="fail">The custody log does not verify:</p><ul>{{range .Custody.Problems}}<li>{{.Where}}: {{.What}}</li>{{end}}</ul>{{end}}
{{range .Custody.NotChecked}}<p>Not checked: {{.}}.</p>{{end}}
{{if .Checkpoint}}<p>The latest checkpoint:</p><pre>{{.Checkpoint}}</pre>{{end}}
<p>To verify, with only the output folder and the public key (see docs/custody.md):</p>
<pre>{{.VerifyCmd}}</pre>

<h2>Certification (FRE 902(14)) — draft</h2>
<p>I, ______________________, certify as follows:</p>
<ol>
<li>I am a qualified person with knowledge of the process described here, employed by ______________________.</li>
<li>Between {{if .Runs}}{{when (index .Runs 0).Started}}{{end}} and {{if .Runs}}{{with $r := index .Runs (len .Runs | dec)}}{{when $r.Finished}}{{end}}{{end}}, electronic mail of the custodians named above was collected from Microsoft 365 tenant {{.TenantID}} through Microsoft Graph, in {{len .Runs}} run(s) of collect {{.ToolVersion}}, signed in as application {{.ClientID}} ({{.Auth}}).</li>
<li>{{commas .Totals.Messages}} messages ({{size .Totals.Bytes}}) were collected, each written as the MIME that Exchange Online exported for it, and identified by its SHA-256 hash value recorded at collection.</li>
<li>Each message's hash is recorded in a manifest whose lines are the leaves of an append-only Merkle tree (RFC 6962). The latest checkpoint of that tree{{if .Checkpoint}}, reproduced above,{{end}} covers {{.Custody.Included}} lines{{if .Verifier}} and is signed with the key {{.Verifier}}{{end}}.</li>
<li>On {{when .Generated}} the hash of every collected message was {{if .Custody.OK}}found to match{{else}}checked, with the exceptions listed above, against{{end}} the values recorded at collection.</li>
</ol>
<p>I certify under penalty of perjury that the foregoing is true and correct.</p>
<p class="sig"><span>Signature</span><span>Date</span></p>
<p class="sig"><span>Name and title</span></p>
</body>
</html>
`))

func (v reportView) HTML(w io.Writer, d custody.ReportData) error {
	return reportHTML.Execute(w, v.page(d))
}

func (v reportView) Markdown(w io.Writer, d custody.ReportData) error {
	p := v.page(d)
	fmt.Fprintf(w, "# Collection report: %s\n\n", d.Matter)
	if d.Description != "" {
		fmt.Fprintf(w, "%s\n\n", d.Description)
	}
	fmt.Fprintf(w, "Generated %s by collect %s from the state and the output folder.\n\n", reportFuncs["when"].(func(time.Time) string)(d.Generated), d.ToolVersion)
	fmt.Fprintf(w, "## Who collected, with what\n\n| | |\n| --- | --- |\n| Tenant | %s |\n| App (client ID) | %s |\n| Sign-in | %s |\n| Collected by | %s |\n\n",
		d.TenantID, d.ClientID, d.Auth, p.Collector)
	fmt.Fprintf(w, "## Runs\n\n| Run | Started | Finished | Status | By | Signed in as | Tool | Collected | Bytes | Failed | Tombstoned |\n| --- | --- | --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: |\n")
	when := reportFuncs["when"].(func(time.Time) string)
	for _, r := range d.Runs {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s@%s | %s | %s | %d | %d | %d | %d |\n", r.RunID, when(r.Started), when(r.Finished), r.Status,
			r.User, r.Host, strings.TrimSpace(r.Collector.Kind+" "+r.Collector.Account), r.ToolVersion, r.Collected, r.Bytes, r.Failed, r.Tombstoned)
	}
	fmt.Fprintf(w, "\n## Messages per custodian and mailbox\n\n| Mailbox | Custodians | Messages |")
	for _, win := range d.Windows {
		fmt.Fprintf(w, " %s |", win.Name)
	}
	fmt.Fprintf(w, " Outside windows | Size | Tombstones | Moves | Failures |\n| --- | --- | ---: |%s ---: | ---: | ---: | ---: | ---: |\n", strings.Repeat(" ---: |", len(d.Windows)))
	row := func(name, custodians string, mb custody.MailboxSummary) {
		fmt.Fprintf(w, "| %s | %s | %d |", name, custodians, mb.Messages)
		for _, n := range mb.PerWindow {
			fmt.Fprintf(w, " %d |", n)
		}
		fmt.Fprintf(w, " %d | %s | %d | %d | %d |\n", mb.Outside, byteSize(mb.Bytes), mb.Tombstones, mb.Moves, mb.Failures)
	}
	for _, mb := range d.Mailboxes {
		row(mb.Address, strings.Join(mb.Custodians, ", "), mb)
	}
	row("**All mailboxes**", "", d.Totals)
	fmt.Fprintf(w, "\n## Messages per month per custodian\n\n| Month |")
	for _, c := range d.Custodians {
		fmt.Fprintf(w, " %s |", c)
	}
	fmt.Fprintf(w, "\n| --- |%s\n", strings.Repeat(" ---: |", len(d.Custodians)))
	for _, m := range d.Months {
		fmt.Fprintf(w, "| %s |", m)
		for _, c := range d.Custodians {
			fmt.Fprintf(w, " %d |", d.PerMonth[c][m])
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\n## Exception log\n\n")
	if len(d.Exceptions) == 0 {
		fmt.Fprintf(w, "No run recorded a failure.\n")
	} else {
		fmt.Fprintf(w, "| Run | Mailbox | Scope | Message ID | Code | What happened | Request ID |\n| --- | --- | --- | --- | --- | --- | --- |\n")
		for _, e := range d.Exceptions {
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", e.RunID, e.Mailbox, e.Scope, e.GraphID, e.Code, strings.ReplaceAll(e.Message, "|", "\\|"), e.RequestID)
		}
	}
	fmt.Fprintf(w, "\n## Chain of custody\n\n")
	if d.Custody.OK() {
		fmt.Fprintf(w, "The custody log verifies: %d manifest lines are included in the latest checkpoint, and the log's %d checkpoint(s) each extend the one before.\n\n", d.Custody.Included, d.Custody.Checkpoints)
	} else {
		fmt.Fprintf(w, "**The custody log does not verify:**\n\n")
		for _, pr := range d.Custody.Problems {
			fmt.Fprintf(w, "- %s: %s\n", pr.Where, pr.What)
		}
		fmt.Fprintln(w)
	}
	for _, n := range d.Custody.NotChecked {
		fmt.Fprintf(w, "Not checked: %s.\n\n", n)
	}
	if d.Checkpoint != "" {
		fmt.Fprintf(w, "The latest checkpoint:\n\n```\n%s```\n\n", d.Checkpoint)
	}
	fmt.Fprintf(w, "To verify, with only the output folder and the public key:\n\n```\n%s\n```\n\n", p.VerifyCmd)
	fmt.Fprintf(w, "## Certification (FRE 902(14)) — draft\n\nI, ______________________, certify as follows:\n\n")
	first, last := "", ""
	if len(d.Runs) > 0 {
		first, last = when(d.Runs[0].Started), when(d.Runs[len(d.Runs)-1].Finished)
	}
	fmt.Fprintf(w, "1. I am a qualified person with knowledge of the process described here, employed by ______________________.\n")
	fmt.Fprintf(w, "2. Between %s and %s, electronic mail of the custodians named above was collected from Microsoft 365 tenant %s through Microsoft Graph, in %d run(s) of collect %s, signed in as application %s (%s).\n",
		first, last, d.TenantID, len(d.Runs), d.ToolVersion, d.ClientID, d.Auth)
	fmt.Fprintf(w, "3. %s messages (%s) were collected, each written as the MIME that Exchange Online exported for it, and identified by its SHA-256 hash value recorded at collection.\n", commas(int64(d.Totals.Messages)), byteSize(d.Totals.Bytes))
	fmt.Fprintf(w, "4. Each message's hash is recorded in a manifest whose lines are the leaves of an append-only Merkle tree (RFC 6962); the latest checkpoint covers %d lines.\n", d.Custody.Included)
	fmt.Fprintf(w, "5. On %s the hash of every collected message was checked against the values recorded at collection.\n\n", when(d.Generated))
	fmt.Fprintf(w, "I certify under penalty of perjury that the foregoing is true and correct.\n\nSignature: ______________________  Date: ______________\n\nName and title: ______________________\n")
	return nil
}
