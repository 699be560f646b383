// Command collect collects Microsoft 365 mail for eDiscovery the way
// Terraform manages infrastructure: a matter written as HCL, a plan that
// shows what is missing, and an apply that fetches exactly that.
//
// One file per command (cmd_*.go) parses its options with a pure function
// (arguments.go), runs, and hands what it found to the command's view
// (view_*.go): a human and a JSON implementation of one interface. Every
// diagnostic goes through one writer (streams.writeDiags), which a JSON
// view redirects into its document; every JSON document and line is
// stamped with the one format version by internal/jsondoc.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// memoryLimit is the Go heap size past which the garbage collector works
// harder, unless GOMEMLIMIT says otherwise: a collection of 100,000
// messages keeps every planned ID in memory, and without a limit the heap
// is left to grow to twice what is live. It is a soft limit: collect never
// fails for lack of it.
const memoryLimit = 96 << 20

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Environ()))
}

// command is one subcommand: its one-line synopsis for the command table,
// its full help, and what runs it.
type command struct {
	synopsis string
	help     string
	run      func(s *streams, args []string) int
}

func commands() map[string]command {
	return map[string]command{
		"validate": {"Check the matter offline", validateHelp, runValidate},
		"fmt":      {"Rewrite matter files in canonical format", fmtHelp, runFmt},
		"version":  {"Show the version of collect and its formats", versionHelp, runVersion},
		"plan":     {"Show what apply would collect", planHelp, runPlan},
		"apply":    {"Collect the planned messages", applyHelp, runApply},
		"show":     {"Show a saved plan, or a summary of the state", showHelp, runShow},
		"init":     {"Create the state file, and a starter matter in an empty folder", initHelp, runInit},
		"state":    {"Show what the state records (state list, state show ADDR); state rebuild", stateHelp, runState},
		"verify":   {"Re-hash every native against the state and the manifest", verifyHelp, runVerify},
		"login":    {"Sign in a person for auth = \"device_code\" and cache the sign-in", loginHelp, runLogin},
		"logout":   {"Remove the cached sign-in of the matter's tenant", logoutHelp, runLogout},
		"doctor":   {"Check sign-in, permissions and every mailbox before collecting", doctorHelp, runDoctor},
		"export":   {"Write the next production volume: load file, natives, attachments", exportHelp, runExport},
		"report":   {"Write the collection report (HTML or Markdown) with the custody checkpoint and a certification draft", reportHelp, runReport},
		"custody":  {"Make the key that signs the custody log's checkpoints (custody keygen)", custodyHelp, runCustody},
	}
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer, env []string) int {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	s := &streams{stdin: stdin, stdout: stdout, stderr: stderr, env: env, color: colorWanted(stderr, env)}
	g, diags := ParseGlobal(args)
	if wantsHelp(diags) || (g.Help && g.Command == "") {
		fmt.Fprint(stdout, globalHelp())
		return exitOK
	}
	if diags.HasErrors() {
		s.writeDiags(diags, nil)
		return exitError
	}
	if g.Version {
		g.Command, g.Args = "version", nil
	}
	if g.Command == "" {
		fmt.Fprint(stderr, globalHelp())
		return exitError
	}
	cmds := commands()
	cmd, ok := cmds[g.Command]
	if !ok {
		detail := fmt.Sprintf("collect has no command %q.", g.Command)
		if sug := suggestName(g.Command, keysOf(cmds)); sug != "" {
			detail += fmt.Sprintf(" Did you mean %q?", sug)
		}
		detail += " Run collect -help for the list of commands."
		s.writeDiags(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Unknown command", Detail: detail}}, nil)
		return exitError
	}
	if g.Help {
		fmt.Fprint(stdout, cmd.help)
		return exitOK
	}
	if g.Chdir != "" {
		if err := os.Chdir(g.Chdir); err != nil {
			s.writeDiags(errorDiag("Cannot change to the -chdir folder",
				fmt.Sprintf("%v. Check the folder given to -chdir.", err)), nil)
			return exitError
		}
	}
	for _, a := range g.Args {
		if a == "-help" || a == "--help" || a == "-h" {
			fmt.Fprint(stdout, cmd.help)
			return exitOK
		}
	}
	code := cmd.run(s, g.Args)
	// A command that wrote to a backend's working folder pushes it now
	// that its state is closed (apply does it itself, for its result).
	if err := s.closeRemote(); err != nil {
		s.errorf("Cannot push the collection to the backend", "%s", sentence(err.Error()))
		if code == exitOK {
			code = exitError
		}
	}
	return code
}

func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func globalHelp() string {
	var b strings.Builder
	b.WriteString(`Usage: collect [global options] <command> [options] [args]

collect collects Microsoft 365 mail for eDiscovery from a matter: HCL files
(*.collect.hcl) that name custodians, mailboxes, date windows and folders.

Commands:
`)
	cmds := commands()
	for _, name := range keysOf(cmds) {
		fmt.Fprintf(&b, "  %-10s %s\n", name, cmds[name].synopsis)
	}
	b.WriteString(`
Global options (before the command):
  -chdir=DIR   Work in the matter folder DIR instead of the current folder.
  -help        Show this help, or a command's help: collect validate -help.
  -version     Same as the version command.

Exit codes: 0 success; 1 error; 2 plan -detailed-exitcode with changes;
3 fmt -check found unformatted files; 4 apply finished with failed items;
5 state locked; 6 saved plan stale; 7 verify (or state rebuild) found a problem.
`)
	return b.String()
}
