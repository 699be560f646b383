package export

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/apply"
	"github.com/collect-ediscovery/collect/config"
	"github.com/collect-ediscovery/collect/graph/graphsim"
	"github.com/collect-ediscovery/collect/internal/clock"
	"github.com/collect-ediscovery/collect/plan"
	"github.com/collect-ediscovery/collect/state"
	"github.com/collect-ediscovery/collect/store"
)

// testNow is the clock of every collection and export in these tests.
var testNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

const demoDomain = "@" + graphsim.DemoTenantDomain

// demoMatter is the matter of the golden collection: two custodians of
// the demo tenant and the shared mailbox, over two months.
const demoMatter = `matter "demo-export" {
  time_zone = "America/New_York"
}

tenant {
  cloud = "demo"
}

window "q1" {
  start = "2024-01-01"
  end   = "2024-03-01"
}

custodian "jdoe" {
  name    = "Jane Doe"
  email   = "jane.doe@demo.collect.invalid"
  windows = [window.q1]
}

custodian "jsmith" {
  name    = "John Smith"
  email   = "john.smith@demo.collect.invalid"
  windows = [window.q1]
}

mailbox "legal" {
  address    = "legal@demo.collect.invalid"
  type       = "shared"
  custodians = [custodian.jdoe]
}

export {
  prefix = "ACME"
}
`

// collection is a matter collected from a simulated tenant, in a folder of its own.
type collection struct {
	t    testing.TB
	tn   *graphsim.Tenant
	m    *config.Matter
	runs int
}

// newCollection writes the matter (plus extra HCL), builds the demo
// tenant (with fixtures from fixturesDir when set) and returns them,
// nothing collected yet.
func newCollection(t testing.TB, matter, fixturesDir string) *collection {
	t.Helper()
	tn, err := graphsim.Demo(graphsim.Config{Clock: clock.NewFake(testNow)}, fixturesDir)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "matter.collect.hcl"), []byte(matter), 0o600); err != nil {
		t.Fatal(err)
	}
	m, _, diags := config.Load(dir, config.LoadOptions{Now: testNow})
	if diags.HasErrors() {
		t.Fatalf("matter: %v", diags)
	}
	return &collection{t: t, tn: tn, m: m}
}

func (c *collection) folder(mailbox, key string) string {
	c.t.Helper()
	id, err := c.tn.FolderID(mailbox, key)
	if err != nil {
		c.t.Fatal(err)
	}
	return id
}

func (c *collection) deliver(mailbox string, msg []byte, at time.Time) {
	c.t.Helper()
	if _, err := c.tn.Deliver(mailbox, c.folder(mailbox, "inbox"), graphsim.MessageSpec{MIME: msg, Received: at}); err != nil {
		c.t.Fatal(err)
	}
}

func (c *collection) db() *state.DB {
	c.t.Helper()
	db, err := state.Open(c.m.State.Path, state.Options{Operation: "test", ToolVersion: "test", Clock: clock.NewFake(testNow)})
	if err != nil {
		c.t.Fatal(err)
	}
	return db
}

// apply collects everything in scope, one run per mailbox in matter order
// (run-N, ...), one message at a time: the collection order, and so the
// goldens, are the same on every run. It returns the last run's ID.
func (c *collection) apply() string {
	c.t.Helper()
	id := ""
	for _, mb := range c.m.Mailboxes {
		id = c.applyTarget(mb.Addr)
	}
	return id
}

func (c *collection) applyTarget(addr string) string {
	c.t.Helper()
	db := c.db()
	defer db.Close()
	src := c.tn.Source(graphsim.SourceOptions{})
	clk := clock.NewFake(testNow)
	target, err := plan.ParseTarget(addr, c.m)
	if err != nil {
		c.t.Fatal(err)
	}
	p, err := plan.Make(context.Background(), c.m, db, src, plan.Options{ToolVersion: "test", Clock: clk, Targets: []plan.Target{target}})
	if err != nil {
		c.t.Fatal(err)
	}
	if !p.Applyable() {
		c.t.Fatalf("plan errors: %+v", p.Errors)
	}
	st, err := store.Open(c.m.Output.Path, store.Options{Hashes: c.m.Output.Hashes})
	if err != nil {
		c.t.Fatal(err)
	}
	c.runs++
	id := fmt.Sprintf("run-%d", c.runs)
	res, err := apply.Apply(context.Background(), p, db, st, src, apply.Options{RunID: id, Clock: clk, Backoff: time.Millisecond,
		Parallelism: 1, Concurrency: 1})
	if err != nil {
		c.t.Fatal(err)
	}
	if res.Failed > 0 {
		c.t.Fatalf("apply: %d items failed", res.Failed)
	}
	return id
}

// export writes the next volume into out.
func (c *collection) export(out string, opts Options) *Result {
	c.t.Helper()
	db := c.db()
	defer db.Close()
	opts.Out = out
	opts.Now = func() time.Time { return testNow }
	opts.ToolVersion = "test"
	res, err := Export(context.Background(), c.m, db, opts)
	if err != nil {
		c.t.Fatal(err)
	}
	return res
}

// tnefFile builds a winmail.dat holding the given attachments, with a
// message-level attribute first, as Outlook writes them.
func tnefFile(files map[string][]byte, order []string) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint32(tnefSignature))
	binary.Write(&b, binary.LittleEndian, uint16(0x0001))
	out := appendTNEFAttr(b.Bytes(), 1, 0x00078008, []byte("IPM.Microsoft Mail.Note\x00")) // attMessageClass
	for _, name := range order {
		out = appendTNEFAttr(out, tnefLevelAttach, tnefAttachRendData, make([]byte, 14))
		out = appendTNEFAttr(out, tnefLevelAttach, tnefAttachTitle, []byte(name+"\x00"))
		out = appendTNEFAttr(out, tnefLevelAttach, tnefAttachData, files[name])
	}
	return out
}

// appendTNEFAttr appends one TNEF attribute with its checksum.
func appendTNEFAttr(b []byte, level byte, id uint32, data []byte) []byte {
	b = append(b, level)
	b = binary.LittleEndian.AppendUint32(b, id)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	b = append(b, data...)
	var sum uint16
	for _, c := range data {
		sum += uint16(c)
	}
	return binary.LittleEndian.AppendUint16(b, sum)
}

func b64Lines(data []byte) string {
	s := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	b.WriteString(s + "\r\n")
	return b.String()
}

// familyMessage is a message with every kind of child: a file, an attached
// message with an attachment of its own, and a winmail.dat; its subject
// and names hold every character a load file must take care of.
func familyMessage() []byte {
	pdf := []byte("%PDF-1.4\n% terms of the deal\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")
	tnef := tnefFile(map[string][]byte{"notes.txt": []byte("Notes from the call.\r\n")}, []string{"notes.txt"})
	inner := strings.Join([]string{
		"From: Pat Q <pat@globex.invalid>",
		"To: Jane Doe <jane.doe@demo.collect.invalid>",
		"Subject: Earlier numbers",
		"Date: Mon, 05 Feb 2024 09:00:00 -0500",
		"Message-ID: <earlier@globex.invalid>",
		"MIME-Version: 1.0",
		`Content-Type: multipart/mixed; boundary="inner"`,
		"",
		"--inner",
		"Content-Type: text/plain; charset=utf-8",
		"",
		"See the numbers.",
		"--inner",
		`Content-Type: text/csv; name="numbers.csv"`,
		`Content-Disposition: attachment; filename="numbers.csv"`,
		"",
		"quarter,amount\r\nQ1,\"1,250\"",
		"--inner--",
		"",
	}, "\r\n")
	return []byte(strings.Join([]string{
		"From: =?utf-8?Q?=C3=9E=C3=B3ra_=C3=BEing?= <thora@globex.invalid>",
		`To: Jane Doe <jane.doe@demo.collect.invalid>, "Smith; John" <john.smith@demo.collect.invalid>`,
		"Cc: legal@demo.collect.invalid",
		"Subject: =?utf-8?Q?Deal_=C3=BEing_=C2=B6_terms,_=22final=22=0D=0Asecond_line?=",
		"Date: Tue, 06 Feb 2024 10:00:00 -0500",
		"Message-ID: <family-1@globex.invalid>",
		"In-Reply-To: <earlier@globex.invalid>",
		"References: <root@globex.invalid>",
		" <earlier@globex.invalid>",
		"Thread-Index: AdpY0c6Qx1+3fJpPQ0mB4w==",
		"MIME-Version: 1.0",
		`Content-Type: multipart/mixed; boundary="outer"`,
		"",
		"--outer",
		"Content-Type: text/plain; charset=utf-8",
		"",
		"The terms, attached.",
		"--outer",
		`Content-Type: application/pdf; name="terms.pdf"`,
		`Content-Disposition: attachment; filename="terms.pdf"`,
		"Content-Transfer-Encoding: base64",
		"",
		b64Lines(pdf),
		"--outer",
		"Content-Type: message/rfc822",
		`Content-Disposition: attachment; filename="earlier.eml"`,
		"",
		inner,
		"--outer",
		`Content-Type: application/ms-tnef; name="winmail.dat"`,
		`Content-Disposition: attachment; filename="winmail.dat"`,
		"Content-Transfer-Encoding: base64",
		"",
		b64Lines(tnef),
		"--outer--",
		"",
	}, "\r\n"))
}

// demoCollection is the golden collection: the demo tenant's mail in the
// matter's window, plus the family message delivered to both custodians.
func demoCollection(t testing.TB) *collection {
	c := newCollection(t, demoMatter, "")
	at := time.Date(2024, 2, 6, 15, 5, 0, 0, time.UTC)
	c.deliver("jane.doe"+demoDomain, familyMessage(), at)
	c.deliver("john.smith"+demoDomain, familyMessage(), at.Add(time.Minute))
	c.apply()
	return c
}

// findCorpus finds the shared mail fixtures (shared/corpus/mail-fixtures
// beside a folder above this package), or skips the test.
func findCorpus(t testing.TB) string {
	t.Helper()
	dir, err := corpusDir()
	if err != nil {
		t.Skip("the mail fixtures (shared/corpus/mail-fixtures beside the repository) are not on this machine")
	}
	return dir
}
