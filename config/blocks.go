package config

import (
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

func (l *loader) tenant(m *Matter, bs []*block) {
	t := &m.Tenant
	t.Cloud = CloudGlobal
	t.MailboxConcurrency = 4
	t.MailboxRequestLimit = 10000
	t.MailboxRequestWindow = 10 * time.Minute
	if len(bs) == 0 {
		if l.written["tenant"] {
			return
		}
		l.errorf(l.fileStart(), "Missing tenant block",
			`A matter needs a tenant block that says where and how to sign in, such as tenant { tenant_id = "contoso.onmicrosoft.com" client_id = "..." auth = "device_code" }, or tenant { cloud = "demo" } to try collect on the built-in demo tenant.`)
		return
	}
	b := bs[0]
	if a := b.attrs["cloud"]; a != nil {
		if v, ok := l.str(a, "cloud"); ok && l.oneOf(a, v, clouds, "cloud") {
			t.Cloud = v
		}
	}
	if a := b.attrs["tenant_id"]; a != nil {
		t.TenantID, _ = l.str(a, "tenant_id")
	}
	if a := b.attrs["client_id"]; a != nil {
		t.ClientID, _ = l.str(a, "client_id")
	}
	if a := b.attrs["auth"]; a != nil {
		if v, ok := l.str(a, "auth"); ok && l.oneOf(a, v, authModes, "auth") {
			t.Auth = v
		}
	}
	if t.Demo() {
		if t.Auth == "" {
			t.Auth = "client_secret"
		}
	} else {
		for _, name := range []string{"tenant_id", "client_id", "auth"} {
			if b.attrs[name] == nil {
				l.errorf(b.def(), "Missing required argument",
					"The argument %q is required in the tenant block (only cloud = \"demo\" works without it).", name)
			}
		}
	}
	if a := b.attrs["certificate_path"]; a != nil {
		if p, ok := l.str(a, "certificate_path"); ok {
			t.CertificatePath = l.abs(p)
			if t.Auth != "" && t.Auth != "client_certificate" {
				l.errorf(a.NameRange.Ptr(), "Certificate without certificate sign-in",
					"certificate_path is only used with auth = \"client_certificate\"; remove it or change auth.")
			}
		}
	} else if t.Auth == "client_certificate" {
		l.errorf(b.def(), "Missing required argument",
			"auth = \"client_certificate\" needs certificate_path: a PEM file with the certificate and its private key. "+
				"Its password, if any, comes from COLLECT_CERTIFICATE_PASSWORD.")
	}
	if a := b.attrs["mailbox_concurrency"]; a != nil {
		if n, ok := l.intIn(a, 1, 64); ok {
			t.MailboxConcurrency = n
		}
	}
	if a := b.attrs["mailbox_request_limit"]; a != nil {
		if n, ok := l.intIn(a, 1, 1_000_000); ok {
			t.MailboxRequestLimit = n
		}
	}
	if a := b.attrs["mailbox_request_window"]; a != nil {
		if s, ok := l.str(a, "mailbox_request_window"); ok {
			d, err := time.ParseDuration(s)
			if err != nil || d <= 0 {
				l.errorf(a.Expr.Range().Ptr(), "Invalid duration",
					"%q is not a positive duration; write it like \"10m\" or \"1h\".", s)
			} else {
				t.MailboxRequestWindow = d
			}
		}
	}
}

func (l *loader) intIn(a *hclsyntax.Attribute, lo, hi int) (int, bool) {
	n, ds := l.scope.number(a.Expr, fmt.Sprintf("The argument %q", a.Name))
	l.add(ds)
	if ds.HasErrors() {
		return 0, false
	}
	if n < lo || n > hi {
		l.errorf(a.Expr.Range().Ptr(), "Value out of range", "%s must be between %d and %d.", a.Name, lo, hi)
		return 0, false
	}
	return n, true
}

var plainDate = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// parseTime reads a window bound: a plain date is midnight in the matter's
// time zone; an RFC 3339 time is taken as given.
func (l *loader) parseTime(a *hclsyntax.Attribute) (time.Time, bool) {
	s, ok := l.str(a, a.Name)
	if !ok {
		return time.Time{}, false
	}
	s = strings.TrimSpace(s)
	if plainDate.MatchString(s) {
		t, err := time.ParseInLocation("2006-01-02", s, l.tz)
		if err != nil {
			l.errorf(a.Expr.Range().Ptr(), "Invalid date", "%q is not a real calendar date.", s)
			return time.Time{}, false
		}
		return t.UTC(), true
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		l.errorf(a.Expr.Range().Ptr(), "Invalid date",
			"%q is neither a date (YYYY-MM-DD, midnight in the matter's time zone) nor an RFC 3339 time "+
				"(such as 2024-01-01T09:00:00-05:00). Dates like 01/02/2024 are ambiguous and not accepted.", s)
		return time.Time{}, false
	}
	return t.UTC(), true
}

func (l *loader) windows(m *Matter, bs []*block) map[string]*Window {
	byName := map[string]*Window{}
	for _, b := range bs {
		w := &Window{Name: b.label(), Date: DateReceived, DeclRange: b.syn.DefRange()}
		ok := false // a missing start was reported by the schema check
		if a := b.attrs["start"]; a != nil {
			w.Start, ok = l.parseTime(a)
		}
		if a := b.attrs["end"]; a != nil {
			end, endOK := l.parseTime(a)
			ok = ok && endOK
			if ok && end.Equal(w.Start) {
				l.errorf(a.Expr.Range().Ptr(), "Empty window",
					"The window %q starts and ends at %s, so it holds no time at all: the end is exclusive. "+
						"Set end to a later time, such as the day after the last day to collect.",
					w.Name, w.Start.In(l.tz).Format(time.RFC3339))
				ok = false
			} else if ok && end.Before(w.Start) {
				l.errorf(a.Expr.Range().Ptr(), "Window ends before it starts",
					"The window %q starts at %s but ends earlier, at %s. Check the dates, or swap start and end.",
					w.Name, w.Start.In(l.tz).Format(time.RFC3339), end.In(l.tz).Format(time.RFC3339))
				ok = false
			}
			w.End = end
		}
		if a := b.attrs["date"]; a != nil {
			if v, vok := l.str(a, "date"); vok && l.oneOf(a, v, []string{"received", "sent"}, "date field") {
				w.Date = DateField(v)
			}
		}
		if ok {
			end := w.End
			if w.Open() {
				end = l.opts.Now
			}
			if end.Sub(w.Start) > 10*365*24*time.Hour+3*24*time.Hour {
				l.warnf(b.def(), "Very long window",
					"The window %q spans more than 10 years. Check its dates: a typo in a year collects far more mail than intended.", w.Name)
			}
		}
		byName[w.Name] = w
		m.Windows = append(m.Windows, w)
	}
	return byName
}

func (l *loader) folderFilter(inner []*hclsyntax.Block) FolderFilter {
	var f FolderFilter
	for _, syn := range inner {
		attrs, _, ds := checkBody(syn.Body, folderSchema, "in a folders block", syn.DefRange())
		l.add(ds)
		if a := attrs["include"]; a != nil {
			f.Include, _ = l.strList(a, "include")
		}
		if a := attrs["exclude"]; a != nil {
			f.Exclude, _ = l.strList(a, "exclude")
		}
		for _, a := range []*hclsyntax.Attribute{attrs["include"], attrs["exclude"]} {
			if a == nil {
				continue
			}
			list := f.Include
			if a.Name == "exclude" {
				list = f.Exclude
			}
			for _, e := range list {
				if strings.Trim(strings.TrimSpace(e), "/") == "" {
					l.errorf(a.Expr.Range().Ptr(), "Empty folder name",
						"Each %s entry must be a well-known folder name such as \"inbox\" or a display path such as \"Inbox/Projects\".", a.Name)
				}
			}
		}
	}
	return f
}

// address checks an e-mail address and returns it in lower case.
func (l *loader) address(a *hclsyntax.Attribute) (string, bool) {
	s, ok := l.str(a, a.Name)
	if !ok {
		return "", false
	}
	addr, err := mail.ParseAddress(s)
	at := strings.LastIndex(s, "@")
	if err != nil || addr.Name != "" || addr.Address != s || at < 1 || !strings.Contains(s[at:], ".") {
		l.errorf(a.Expr.Range().Ptr(), "Invalid e-mail address",
			"%q is not an e-mail address. Write the mailbox's address alone, such as \"jane.doe@contoso.com\": "+
				"its UPN, primary SMTP address or an alias.", s)
		return "", false
	}
	return strings.ToLower(s), true
}

func (l *loader) custodians(m *Matter, bs []*block, windows map[string]*Window) {
	for _, b := range bs {
		c := &Custodian{Name: b.label(), DeclRange: b.syn.DefRange()}
		if a := b.attrs["name"]; a != nil {
			c.DisplayName, _ = l.str(a, "name")
		}
		if a := b.attrs["email"]; a != nil {
			c.Email, _ = l.address(a)
		}
		if a := b.attrs["windows"]; a != nil {
			names, ds := refList(a.Expr, "window", rangesOf(windows))
			l.add(ds)
			for _, n := range names {
				c.Windows = append(c.Windows, windows[n])
			}
		} else {
			l.warnf(b.def(), "Whole mailbox",
				"The custodian %q has no windows, so every message in the mailbox is in scope. "+
					"Add windows = [window.example] to collect only a period.", c.Name)
		}
		c.Folders = l.folderFilter(b.inner)
		m.Custodians = append(m.Custodians, c)
		m.Mailboxes = append(m.Mailboxes, &Mailbox{
			Addr:       "custodian." + c.Name + ".mailbox.primary",
			Kind:       MailboxPrimary,
			Email:      c.Email,
			Custodians: []string{c.Name},
			Windows:    c.Windows,
			Folders:    c.Folders,
			DeclRange:  c.DeclRange,
		})
	}
}

func rangesOf[T any](m map[string]T) map[string]hcl.Range {
	out := make(map[string]hcl.Range, len(m))
	for k := range m {
		out[k] = hcl.Range{}
	}
	return out
}

func (l *loader) mailboxes(m *Matter, bs []*block, windows map[string]*Window) {
	custodians := map[string]*Custodian{}
	for _, c := range m.Custodians {
		custodians[c.Name] = c
	}
	for _, b := range bs {
		mb := &Mailbox{Addr: "mailbox." + b.label(), Kind: MailboxShared, DeclRange: b.syn.DefRange()}
		if a := b.attrs["type"]; a != nil {
			if v, ok := l.str(a, "type"); ok {
				switch v {
				case "shared":
				case "archive":
					l.errorf(a.Expr.Range().Ptr(), "Archive mailboxes cannot be collected",
						"Microsoft Graph v1.0 cannot read in-place archive mailboxes, so collect cannot collect "+
							"this one. Collect the archive with a Microsoft Purview eDiscovery search and export, "+
							"and remove this block; if the address is really a shared mailbox, write type = \"shared\".")
				default:
					l.oneOf(a, v, []string{"shared", "archive"}, "mailbox type")
				}
			}
		}
		if a := b.attrs["address"]; a != nil {
			mb.Email, _ = l.address(a)
		}
		whole := false
		if a := b.attrs["custodians"]; a != nil {
			names, ds := refList(a.Expr, "custodian", rangesOf(custodians))
			l.add(ds)
			for _, n := range names {
				mb.Custodians = append(mb.Custodians, n)
				if len(custodians[n].Windows) == 0 {
					whole = true
				}
				for _, w := range custodians[n].Windows {
					if !containsWindow(mb.Windows, w) {
						mb.Windows = append(mb.Windows, w)
					}
				}
			}
		}
		if whole {
			// One of its custodians is collected whole: so is the mailbox.
			mb.Windows = nil
		}
		if a := b.attrs["windows"]; a != nil {
			names, ds := refList(a.Expr, "window", rangesOf(windows))
			l.add(ds)
			mb.Windows = nil
			for _, n := range names {
				mb.Windows = append(mb.Windows, windows[n])
			}
		} else if b.attrs["custodians"] == nil {
			// A custodian without windows was warned about where it is
			// declared; a mailbox of no custodian is warned about here.
			l.warnf(b.def(), "Whole mailbox",
				"The mailbox %q has no custodians and no windows, so every message in the mailbox is in scope. "+
					"Add windows = [window.example] to collect only a period.", b.label())
		}
		mb.Folders = l.folderFilter(b.inner)
		m.Mailboxes = append(m.Mailboxes, mb)
	}
}

func containsWindow(ws []*Window, w *Window) bool {
	for _, x := range ws {
		if x == w {
			return true
		}
	}
	return false
}
