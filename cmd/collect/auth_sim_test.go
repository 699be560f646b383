package main

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/collect-ediscovery/collect/graph/graphsim"
	"github.com/collect-ediscovery/collect/internal/clock"
	"github.com/rogpeppe/go-internal/testscript"
)

// simAuthCmd changes how the script's simulated tenant signs people and
// apps in, and adds directory users:
//
//	simauth public                    allow public client flows (device code) for the matter's app; poll every second
//	simauth approve USER [PENDING]    device code sign-ins succeed as USER after PENDING pending polls
//	simauth deny                      the user declines every device code sign-in
//	simauth expire-codes              device codes are expired when issued
//	simauth revoke                    revoke every refresh token
//	simauth fail CODE                 every token request answers AADSTS CODE; 0 stops
//	simauth certfile NAME DEST [unregistered]   copy test certificate NAME (graph/entra/testdata) to DEST and register it for the app
//	simauth realtime                  move the tenant's fake clock to the wall clock (collect signs assertions on the wall clock)
//	simauth federated ISSUER SUBJECT  trust a federated credential for the app
//	simauth oidc FILE ISSUER SUBJECT MINUTES [AUDIENCE]   write a CI token to FILE, valid MINUTES on the tenant's clock
//	simauth advance DURATION          move the tenant's clock forward
//	simauth user LOCAL KIND [ALIAS]   add a user LOCAL@sim.collect.invalid (KIND user, shared, onprem, inactive, nobox)
//	simauth fullaccess DELEGATE MAILBOX
//	simauth access MAILBOX allow|deny    whether the matter's app may read the mailbox (application access policy)
//	simauth populate MAILBOX FOLDER N FROM TO   N messages received between two dates (YYYY-MM-DD)
//	simauth cachemode MODE            chmod every file in $COLLECT_CACHE_DIR
//
// USER, MAILBOX and DELEGATE are local parts, or full addresses when they hold "@".
func simAuthCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: simauth VERB ...")
	}
	tn := ts.Value("sim").(*graphsim.Tenant)
	client := tn.Credentials().ClientID
	addr := func(s string) string {
		if strings.Contains(s, "@") {
			return s
		}
		return s + "@" + simDomain
	}
	need := func(n int) {
		if len(args) < n+1 {
			ts.Fatalf("simauth %s needs %d arguments", args[0], n)
		}
	}
	switch args[0] {
	case "public":
		ts.Check(tn.SetPublicClient(client, true))
		tn.SetDeviceCodeTiming(time.Second, 0)
	case "approve":
		need(1)
		pending := 0
		if len(args) > 2 {
			n, err := strconv.Atoi(args[2])
			ts.Check(err)
			pending = n
		}
		ts.Check(tn.ApproveDeviceCodes(addr(args[1]), pending))
	case "deny":
		tn.DenyDeviceCodes()
	case "expire-codes":
		tn.SetDeviceCodeTiming(time.Second, -1)
	case "revoke":
		tn.RevokeRefreshTokens()
	case "fail":
		need(1)
		n, err := strconv.Atoi(args[1])
		ts.Check(err)
		tn.FailSignIns(n)
	case "certfile":
		need(2)
		b, err := os.ReadFile(filepath.Join("..", "..", "graph", "entra", "testdata", args[1]))
		ts.Check(err)
		ts.Check(os.WriteFile(ts.MkAbs(args[2]), b, 0o600))
		blk, _ := pem.Decode(b)
		if blk == nil || blk.Type != "CERTIFICATE" {
			ts.Fatalf("%s does not start with a certificate", args[1])
		}
		cert, err := x509.ParseCertificate(blk.Bytes)
		ts.Check(err)
		if len(args) < 4 || args[3] != "unregistered" {
			ts.Check(tn.AddCertificate(client, cert))
		}
	case "realtime":
		fc, ok := tn.Clock().(*clock.Fake)
		if !ok {
			ts.Fatalf("the tenant's clock is not a fake clock")
		}
		if d := time.Until(fc.Now()); d < 0 {
			fc.Advance(-d)
		}
	case "federated":
		need(2)
		ts.Check(tn.AddFederatedCredential(client, graphsim.FederatedCredential{Issuer: args[1], Subject: args[2]}))
	case "oidc":
		need(4)
		mins, err := strconv.Atoi(args[4])
		ts.Check(err)
		aud := graphsim.FederatedAudience
		if len(args) > 5 {
			aud = args[5]
		}
		exp := tn.Clock().Now().Add(time.Duration(mins) * time.Minute)
		h, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "ci"})
		c, _ := json.Marshal(map[string]any{"iss": args[2], "sub": args[3], "aud": aud, "exp": exp.Unix(),
			"nbf": exp.Add(-time.Hour).Unix(), "jti": strconv.FormatInt(exp.UnixNano(), 36)})
		tok := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + ".c2ln"
		ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(tok+"\n"), 0o600))
	case "advance":
		need(1)
		d, err := time.ParseDuration(args[1])
		ts.Check(err)
		fc, ok := tn.Clock().(*clock.Fake)
		if !ok {
			ts.Fatalf("the tenant's clock is not a fake clock")
		}
		fc.Advance(d)
	case "user":
		need(2)
		kinds := map[string]graphsim.MailboxKind{"user": graphsim.UserMailbox, "shared": graphsim.SharedMailbox,
			"onprem": graphsim.OnPremisesMailbox, "inactive": graphsim.InactiveMailbox, "nobox": graphsim.NoMailbox}
		k, ok := kinds[args[2]]
		if !ok {
			ts.Fatalf("unknown mailbox kind %q", args[2])
		}
		spec := graphsim.UserSpec{UPN: addr(args[1]), Kind: k}
		for _, a := range args[3:] {
			spec.Aliases = append(spec.Aliases, addr(a))
		}
		_, err := tn.AddUser(spec)
		ts.Check(err)
	case "fullaccess":
		need(2)
		ts.Check(tn.GrantFullAccess(addr(args[1]), addr(args[2])))
	case "access":
		need(2)
		ts.Check(tn.SetMailboxAccess(client, addr(args[1]), args[2] == "allow"))
	case "populate":
		need(5)
		n, err := strconv.Atoi(args[3])
		ts.Check(err)
		from, err := time.Parse("2006-01-02", args[4])
		ts.Check(err)
		to, err := time.Parse("2006-01-02", args[5])
		ts.Check(err)
		mb := addr(args[1])
		fid, err := tn.FolderID(mb, args[2])
		ts.Check(err)
		ts.Check(tn.Populate(mb, fid, graphsim.Populate{Count: n, From: from, To: to}))
	case "cachemode":
		need(1)
		mode, err := strconv.ParseUint(args[1], 8, 32)
		ts.Check(err)
		dir := ts.Getenv("COLLECT_CACHE_DIR")
		entries, err := os.ReadDir(dir)
		ts.Check(err)
		if len(entries) == 0 {
			ts.Fatalf("no file in %s", dir)
		}
		for _, e := range entries {
			ts.Check(os.Chmod(filepath.Join(dir, e.Name()), os.FileMode(mode)))
		}
	default:
		ts.Fatalf("unknown simauth verb %q", args[0])
	}
}
