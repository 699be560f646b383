// Command graphsim serves a simulated Microsoft 365 tenant (Microsoft Graph
// v1.0 and the Entra ID token endpoint) for trying collect without a
// tenant, for CI and for load tests.
//
//	go run ./cmd/graphsim -demo
//	go run ./cmd/graphsim -mailboxes 20 -messages 5000 -latency 20ms -faults throttle=0.01,reset=0.002
//
// It prints its endpoints, credentials and the environment variables that
// point collect at it, then serves until interrupted (SIGINT or SIGTERM).
// The credentials are the simulator's own and open nothing else.
//
// Exit codes: 0 after an interrupt, 1 when the server cannot start,
// 2 for bad flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/collect-ediscovery/collect/graph/graphsim"
)

// options are the parsed command line.
type options struct {
	addr          string
	allowRemote   bool
	seed          int64
	demo          bool
	mailboxes     int
	messages      int
	large         int
	largeMB       int
	latency       time.Duration
	fixtures      string
	duplicates    float64
	maxConcurrent int
	windowReqs    int
	window        time.Duration
	retryStyle    graphsim.RetryAfterStyle
	tokenMaxAge   time.Duration
	strictIDType  bool
	resetCode     string
	faults        graphsim.FaultRates
}

// parseArgs turns the command line into options; it does no I/O.
func parseArgs(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("graphsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:0", "listen address (loopback only unless -allow-remote)")
	fs.BoolVar(&o.allowRemote, "allow-remote", false, "allow a non-loopback listen address (the control routes have no authentication)")
	fs.Int64Var(&o.seed, "seed", 1, "seed for names, IDs, messages and faults (ignored with -demo)")
	fs.BoolVar(&o.demo, "demo", false, "serve the documented demo tenant (demo.collect.invalid)")
	fs.IntVar(&o.mailboxes, "mailboxes", 3, "number of generated mailboxes (without -demo)")
	fs.IntVar(&o.messages, "messages", 200, "messages per generated mailbox (without -demo)")
	fs.IntVar(&o.large, "large", 0, "how many of each generated mailbox's inbox messages are large (without -demo)")
	fs.IntVar(&o.largeMB, "large-mb", 20, "size of a large message, in MB")
	fs.DurationVar(&o.latency, "latency", 0, "latency added to every Graph request")
	fs.StringVar(&o.fixtures, "fixtures", "", "directory of .eml files to serve verbatim (legal@ Inbox/Fixtures in the demo, the first mailbox's Inbox/Fixtures otherwise)")
	fs.Float64Var(&o.duplicates, "duplicates", 0, "share of delta items sent twice within a round (0 to 1)")
	fs.IntVar(&o.maxConcurrent, "max-concurrent", 4, "concurrent requests per app and mailbox before 429 MailboxConcurrency (negative: unlimited)")
	fs.IntVar(&o.windowReqs, "window-requests", 10000, "requests per app and mailbox per window before 429 ApplicationThrottled (negative: unlimited)")
	fs.DurationVar(&o.window, "window", 10*time.Minute, "throttling window")
	style := fs.String("retry-after", "seconds", "Retry-After form: seconds, fractional or http-date")
	fs.DurationVar(&o.tokenMaxAge, "delta-token-max-age", 0, "delta tokens older than this answer 410 SyncStateNotFound (0: never)")
	fs.BoolVar(&o.strictIDType, "strict-delta-id-type", false, "answer 410 SyncStateInvalid when a delta link is used under another Prefer IdType than it was issued under")
	fs.StringVar(&o.resetCode, "sync-reset-code", "SyncStateNotFound", "code of the 410 for expired delta tokens: SyncStateNotFound, resyncRequired or SyncStateInvalid")
	faults := fs.String("faults", "", "random fault rates, e.g. throttle=0.01,unavailable=0.01,server-error=0.01,bad-gateway=0,gateway-timeout=0,reset=0.005,truncate=0.01,unauthorized=0.001")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q; all settings are flags (see -help)", fs.Arg(0))
	}
	switch *style {
	case "seconds":
		o.retryStyle = graphsim.RetryAfterSeconds
	case "fractional":
		o.retryStyle = graphsim.RetryAfterFractional
	case "http-date":
		o.retryStyle = graphsim.RetryAfterHTTPDate
	default:
		return o, fmt.Errorf("-retry-after %q: use seconds, fractional or http-date", *style)
	}
	switch o.resetCode {
	case "SyncStateNotFound", "resyncRequired", "SyncStateInvalid":
	default:
		return o, fmt.Errorf("-sync-reset-code %q: use SyncStateNotFound, resyncRequired or SyncStateInvalid", o.resetCode)
	}
	if o.duplicates < 0 || o.duplicates > 1 {
		return o, fmt.Errorf("-duplicates %v: give a share from 0 to 1", o.duplicates)
	}
	if o.mailboxes < 1 || o.messages < 0 {
		return o, errors.New("-mailboxes must be at least 1 and -messages at least 0")
	}
	if o.large < 0 || o.large > o.messages*4/5 || o.largeMB < 1 || o.largeMB > 4000 {
		return o, fmt.Errorf("-large must be from 0 to %d (the inbox share of -messages) and -large-mb from 1 to 4000", o.messages*4/5)
	}
	var err error
	if o.faults, err = parseFaults(*faults); err != nil {
		return o, err
	}
	if err := checkLoopback(o.addr, o.allowRemote); err != nil {
		return o, err
	}
	return o, nil
}

func parseFaults(s string) (graphsim.FaultRates, error) {
	var fr graphsim.FaultRates
	if strings.TrimSpace(s) == "" {
		return fr, nil
	}
	rates := map[string]*float64{
		"throttle": &fr.Throttle, "unavailable": &fr.Unavailable, "server-error": &fr.ServerError,
		"bad-gateway": &fr.BadGateway, "gateway-timeout": &fr.GatewayTimeout, "reset": &fr.Reset,
		"truncate": &fr.Truncate, "unauthorized": &fr.Unauthorized,
	}
	total := 0.0
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		p, known := rates[k]
		if !ok || !known {
			names := make([]string, 0, len(rates))
			for n := range rates {
				names = append(names, n)
			}
			sort.Strings(names)
			return fr, fmt.Errorf("-faults %q: write kind=rate pairs with kinds %s", part, strings.Join(names, ", "))
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 1 {
			return fr, fmt.Errorf("-faults %q: the rate must be a number from 0 to 1", part)
		}
		*p = f
		total += f
	}
	if total > 1 {
		return fr, fmt.Errorf("-faults: the rates add up to %v, more than 1", total)
	}
	return fr, nil
}

// checkLoopback refuses to expose the unauthenticated control routes
// beyond this machine unless asked to.
func checkLoopback(addr string, allowRemote bool) error {
	if allowRemote {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %v", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("-addr %q is not a loopback address; the simulator's control routes have no authentication. Use 127.0.0.1:PORT, or add -allow-remote if you mean it", addr)
}

// buildTenant makes the tenant the options describe.
func buildTenant(o options) (*graphsim.Tenant, error) {
	cfg := graphsim.Config{
		Seed:              o.seed,
		Latency:           o.latency,
		DuplicateRate:     o.duplicates,
		DeltaTokenMaxAge:  o.tokenMaxAge,
		SyncResetCode:     o.resetCode,
		StrictDeltaIDType: o.strictIDType,
		Faults:            o.faults,
		Limits: graphsim.Limits{
			MaxConcurrent: o.maxConcurrent, WindowRequests: o.windowReqs, Window: o.window, RetryAfterStyle: o.retryStyle,
		},
	}
	if o.demo {
		return graphsim.Demo(cfg, o.fixtures)
	}
	t := graphsim.New(cfg)
	now := time.Now().UTC()
	for i := 1; i <= o.mailboxes; i++ {
		mb := fmt.Sprintf("custodian%03d@%s", i, t.Credentials().TenantDomain)
		if _, err := t.AddUser(graphsim.UserSpec{UPN: mb}); err != nil {
			return nil, err
		}
		inbox := o.messages * 4 / 5
		if err := t.Populate(mb, "inbox", graphsim.Populate{Count: inbox, To: now, Large: o.large, LargeSize: int64(o.largeMB) << 20}); err != nil {
			return nil, err
		}
		if err := t.Populate(mb, "sentitems", graphsim.Populate{Count: o.messages - inbox, To: now}); err != nil {
			return nil, err
		}
		if err := t.AddOtherItems(mb, now.AddDate(-1, 0, 0), now); err != nil {
			return nil, err
		}
		if i == 1 && o.fixtures != "" {
			id, err := t.CreateFolder(mb, "inbox", "Fixtures", false)
			if err != nil {
				return nil, err
			}
			if _, err := t.AddFixtures(mb, id, o.fixtures); err != nil {
				return nil, err
			}
		}
	}
	return t, nil
}

func printEndpoints(w io.Writer, s *graphsim.Server, o options) {
	c := s.Tenant.Credentials()
	kind := fmt.Sprintf("%d generated mailboxes of %d messages, seed %d", o.mailboxes, o.messages, o.seed)
	if o.demo {
		kind = "the demo tenant"
	}
	fmt.Fprintf(w, "graphsim: serving %s (simulated credentials, they open nothing else)\n", kind)
	fmt.Fprintf(w, "  Graph root:     %s\n", s.GraphURL)
	fmt.Fprintf(w, "  Login root:     %s\n", s.LoginURL)
	fmt.Fprintf(w, "  Token endpoint: %s/%s/oauth2/v2.0/token\n", s.LoginURL, c.TenantID)
	fmt.Fprintf(w, "  Tenant:         %s (%s)\n", c.TenantID, c.TenantDomain)
	fmt.Fprintf(w, "  Client ID:      %s\n", c.ClientID)
	fmt.Fprintf(w, "  Client secret:  %s\n", c.ClientSecret)
	fmt.Fprintf(w, "  Counters:       %s/_sim/counters\n", s.URL)
	fmt.Fprintf(w, "  Users:         ")
	for _, u := range s.Tenant.Users() {
		fmt.Fprintf(w, " %s", u.UPN)
	}
	fmt.Fprintf(w, "\nPoint collect at it:\n")
	fmt.Fprintf(w, "  export COLLECT_GRAPH_ENDPOINT=%s\n", s.URL)
	fmt.Fprintf(w, "  export COLLECT_LOGIN_ENDPOINT=%s\n", s.LoginURL)
	fmt.Fprintf(w, "  export COLLECT_CLIENT_SECRET=%s\n", c.ClientSecret)
	fmt.Fprintf(w, "Stop with Ctrl-C.\n")
}

// run serves until ctx ends.
func run(ctx context.Context, o options, stdout io.Writer) error {
	t, err := buildTenant(o)
	if err != nil {
		return err
	}
	s, err := graphsim.Start(t, o.addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", o.addr, err)
	}
	printEndpoints(stdout, s, o)
	<-ctx.Done()
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(shut); err != nil {
		return s.Close()
	}
	return nil
}

func main() {
	o, err := parseArgs(os.Args[1:], os.Stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "graphsim:", err)
		}
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "graphsim:", err)
		os.Exit(1)
	}
}
