package graphsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/collect-ediscovery/collect/internal/clock"
)

// Simulator control over HTTP, for the standalone server. Every route
// takes and returns JSON; errors are Graph-shaped.
//
//	GET  /_sim/counters
//	GET  /_sim/messages        ?mailbox=&folder=
//	POST /_sim/deliver         {"mailbox","folder","count","subject","from","to","received","size","draft"}
//	POST /_sim/move            {"mailbox","id","folder"}
//	POST /_sim/delete          {"mailbox","id"}
//	POST /_sim/edit-draft      {"mailbox","id"}
//	POST /_sim/flag            {"mailbox","id","flagged"}
//	POST /_sim/categorize      {"mailbox","id","categories"}
//	POST /_sim/create-folder   {"mailbox","parent","name","hidden"}
//	POST /_sim/expire-delta-tokens {"mailbox"} or {"link"}
//	POST /_sim/revoke-tokens
//	POST /_sim/quota           {"mailbox","full"}
//	POST /_sim/faults          {"mailbox","faults":[{"kind":"reset","route":"value","retryAfter":"2s"}]}
//	POST /_sim/advance         {"by":"10m"}   (only with a fake clock)
type simRequest struct {
	Mailbox    string     `json:"mailbox"`
	Folder     string     `json:"folder"`
	ID         string     `json:"id"`
	Count      int        `json:"count"`
	Subject    string     `json:"subject"`
	From       string     `json:"from"`
	To         string     `json:"to"`
	Received   time.Time  `json:"received"`
	Size       int64      `json:"size"`
	Draft      bool       `json:"draft"`
	Parent     string     `json:"parent"`
	Name       string     `json:"name"`
	Hidden     bool       `json:"hidden"`
	Link       string     `json:"link"`
	Full       bool       `json:"full"`
	Faults     []simFault `json:"faults"`
	By         string     `json:"by"`
	Flagged    bool       `json:"flagged"`
	Categories []string   `json:"categories"`
}

type simFault struct {
	Kind       string `json:"kind"`
	Route      Route  `json:"route"`
	RetryAfter string `json:"retryAfter"`
}

var faultNames = map[string]FaultKind{
	"throttle": FaultThrottle, "unavailable": FaultUnavailable, "server-error": FaultServerError,
	"bad-gateway": FaultBadGateway, "gateway-timeout": FaultGatewayTimeout, "reset": FaultReset,
	"truncate": FaultTruncate, "unauthorized": FaultUnauthorized, "too-many-objects-opened": FaultTooManyObjectsOpened,
}

// ParseFaultKind reads a fault kind by name: throttle, unavailable,
// server-error, bad-gateway, gateway-timeout, reset, truncate,
// unauthorized, too-many-objects-opened.
func ParseFaultKind(name string) (FaultKind, error) {
	if k, ok := faultNames[strings.ToLower(name)]; ok {
		return k, nil
	}
	return 0, fmt.Errorf("graphsim: unknown fault %q; known: throttle, unavailable, server-error, bad-gateway, gateway-timeout, reset, truncate, unauthorized, too-many-objects-opened", name)
}

func refJSON(r MessageRef) jobj {
	return jobj{
		{"immutableId", r.ImmutableID}, {"id", r.ID}, {"folderId", r.FolderID},
		{"internetMessageId", r.InternetMessageID}, {"subject", r.Subject},
		{"received", r.Received}, {"lastModified", r.LastModified}, {"isDraft", r.IsDraft}, {"size", r.Size},
		{"changeKey", r.ChangeKey},
	}
}

func countersJSON(c Counters) jobj {
	mbs := jobj{}
	for _, k := range sortedKeys(c.Mailboxes) {
		m := c.Mailboxes[k]
		mbs = append(mbs, jkv{k, jobj{
			{"requests", m.Requests}, {"byRoute", m.ByRoute}, {"throttled", m.Throttled}, {"faults", m.Faults},
			{"maxInFlight", m.MaxInFlight}, {"earlyRetries", m.EarlyRetries}, {"valueBytes", m.ValueBytes},
		}})
	}
	status := map[string]int64{}
	for k, v := range c.ByStatus {
		status[fmt.Sprint(k)] = v
	}
	return jobj{{"requests", c.Requests}, {"byRoute", c.ByRoute}, {"byStatus", status}, {"throttled", c.Throttled}, {"mailboxes", mbs}}
}

func (t *Tenant) serveSim(q *request, segs []string) {
	if len(segs) != 1 {
		q.fail(http.StatusNotFound, "NotFound", "Unknown simulator route.")
		return
	}
	op := segs[0]
	if q.r.Method == http.MethodGet {
		switch op {
		case "counters":
			q.writeJSON(http.StatusOK, countersJSON(t.Counters()))
		case "messages":
			refs, err := t.Messages(q.r.URL.Query().Get("mailbox"), q.r.URL.Query().Get("folder"))
			if err != nil {
				simFail(q, err)
				return
			}
			out := []jobj{}
			for _, r := range refs {
				out = append(out, refJSON(r))
			}
			q.writeJSON(http.StatusOK, jobj{{"value", out}})
		default:
			q.fail(http.StatusNotFound, "NotFound", "Unknown simulator route; GET serves counters and messages.")
		}
		return
	}
	if q.r.Method != http.MethodPost {
		q.fail(http.StatusMethodNotAllowed, "BadRequest", "Simulator changes are POST requests.")
		return
	}
	var in simRequest
	if err := json.NewDecoder(io.LimitReader(q.r.Body, 1<<20)).Decode(&in); err != nil && !errors.Is(err, io.EOF) {
		q.fail(http.StatusBadRequest, "BadRequest", "The body must be a JSON object: "+err.Error())
		return
	}
	var out any = jobj{{"ok", true}}
	var err error
	switch op {
	case "deliver":
		folder := in.Folder
		if folder == "" {
			folder = "inbox"
		}
		if in.Count > 1 {
			err = t.Populate(in.Mailbox, folder, Populate{Count: in.Count, From: in.Received.Add(-24 * time.Hour), To: in.Received})
			if in.Received.IsZero() {
				err = t.Populate(in.Mailbox, folder, Populate{Count: in.Count})
			}
			break
		}
		var r MessageRef
		r, err = t.Deliver(in.Mailbox, folder, MessageSpec{Subject: in.Subject, From: in.From, To: in.To, Received: in.Received, Size: in.Size, Draft: in.Draft})
		out = refJSON(r)
	case "move":
		var r MessageRef
		r, err = t.Move(in.Mailbox, in.ID, in.Folder)
		out = refJSON(r)
	case "delete":
		err = t.Delete(in.Mailbox, in.ID)
	case "edit-draft":
		var r MessageRef
		r, err = t.EditDraft(in.Mailbox, in.ID)
		out = refJSON(r)
	case "flag":
		var r MessageRef
		r, err = t.Flag(in.Mailbox, in.ID, in.Flagged)
		out = refJSON(r)
	case "categorize":
		var r MessageRef
		r, err = t.Categorize(in.Mailbox, in.ID, in.Categories...)
		out = refJSON(r)
	case "create-folder":
		var id string
		id, err = t.CreateFolder(in.Mailbox, in.Parent, in.Name, in.Hidden)
		out = jobj{{"id", id}}
	case "expire-delta-tokens":
		if in.Link != "" {
			err = t.ExpireDeltaLink(in.Link)
		} else {
			err = t.ExpireDeltaTokens(in.Mailbox)
		}
	case "revoke-tokens":
		t.RevokeAccessTokens()
	case "quota":
		err = t.SetQuotaExceeded(in.Mailbox, in.Full)
	case "faults":
		var fs []Fault
		for _, f := range in.Faults {
			k, kerr := ParseFaultKind(f.Kind)
			if kerr != nil {
				err = kerr
				break
			}
			var d time.Duration
			if f.RetryAfter != "" {
				if d, err = time.ParseDuration(f.RetryAfter); err != nil {
					break
				}
			}
			fs = append(fs, Fault{Kind: k, Route: f.Route, RetryAfter: d})
		}
		if err == nil {
			err = t.InjectFaults(in.Mailbox, fs...)
		}
	case "advance":
		fc, ok := t.clock.(*clock.Fake)
		if !ok {
			err = errors.New("graphsim: the clock is the real one and cannot be advanced")
			break
		}
		var d time.Duration
		if d, err = time.ParseDuration(in.By); err == nil {
			fc.Advance(d)
		}
	default:
		q.fail(http.StatusNotFound, "NotFound", "Unknown simulator route "+op+".")
		return
	}
	if err != nil {
		simFail(q, err)
		return
	}
	q.writeJSON(http.StatusOK, out)
}

func simFail(q *request, err error) {
	if errors.Is(err, ErrNotFound) {
		q.fail(http.StatusNotFound, "NotFound", err.Error())
		return
	}
	q.fail(http.StatusBadRequest, "BadRequest", err.Error())
}
