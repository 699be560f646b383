package graphsim

import (
	"bytes"
	"crypto/sha256"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strconv"
	"strings"
	"testing"
	"time"
)

func mailTenant(t *testing.T, cfg Config, n int) (*sim, string, string) {
	t.Helper()
	s := newSim(t, cfg)
	const mb = "ann@sim.collect.invalid"
	if _, err := s.tn.AddUser(UserSpec{UPN: mb, DisplayName: "Ann Example"}); err != nil {
		t.Fatal(err)
	}
	inbox, _ := s.tn.FolderID(mb, "inbox")
	if err := s.tn.Populate(mb, inbox, Populate{Count: n, From: t0.AddDate(-1, 0, 0), To: t0}); err != nil {
		t.Fatal(err)
	}
	return s, mb, inbox
}

func TestMessageIDs(t *testing.T) {
	s, mb, inbox := mailTenant(t, Config{Seed: 11}, 3)
	archive, _ := s.tn.FolderID(mb, "archive")
	refs, _ := s.tn.Messages(mb, inbox)
	r := refs[0]
	for _, id := range []string{r.ID, r.ImmutableID} {
		for _, c := range []string{"/", "+", "="} {
			if !strings.Contains(id, c) {
				t.Fatalf("ID %q lacks %q", id, c)
			}
		}
	}
	var m struct {
		ID             string `json:"id"`
		ParentFolderID string `json:"parentFolderId"`
		Subject        string `json:"subject"`
	}
	status, h, body := s.get("/v1.0/users/"+mb+"/messages/"+esc(r.ID)+"?$select=subject,parentFolderId", immutable)
	mustJSON(t, body, &m)
	if status != 200 || m.ID != r.ImmutableID || m.ParentFolderID != inbox || m.Subject != r.Subject || h.Get("Preference-Applied") != `IdType="ImmutableId"` {
		t.Fatalf("get by regular ID with immutable preference: %d %v %s", status, h, body)
	}
	status, _, body = s.get("/v1.0/users/" + mb + "/messages/" + esc(r.ImmutableID))
	mustJSON(t, body, &m)
	if status != 200 || m.ID != r.ID {
		t.Fatalf("get by immutable ID without preference: %d %s", status, body)
	}
	// An ID that is not escaped splits the path.
	status, h, body = s.get("/v1.0/users/" + mb + "/messages/" + r.ID + "/$value")
	if status != 400 && status != 404 {
		t.Fatalf("unescaped ID: %d %s", status, body)
	}
	wantError(t, status, h, body, status, map[int]string{400: "BadRequest", 404: "ErrorItemNotFound"}[status])

	moved, err := s.tn.Move(mb, r.ImmutableID, archive)
	if err != nil {
		t.Fatal(err)
	}
	if moved.ImmutableID != r.ImmutableID || moved.ID == r.ID || moved.FolderID != archive {
		t.Fatalf("after move: %+v, before %+v", moved, r)
	}
	status, h, body = s.get("/v1.0/users/" + mb + "/messages/" + esc(r.ID))
	wantError(t, status, h, body, 404, "ErrorItemNotFound")
	status, h, body = s.get("/v1.0/users/" + mb + "/messages/" + esc(r.ID) + "/$value")
	wantError(t, status, h, body, 404, "ErrorItemNotFound")
	for _, id := range []string{moved.ID, r.ImmutableID} {
		status, _, body = s.get("/v1.0/users/"+mb+"/mailFolders/"+esc(archive)+"/messages/"+esc(id), immutable)
		mustJSON(t, body, &m)
		if status != 200 || m.ID != r.ImmutableID || m.ParentFolderID != archive {
			t.Fatalf("after move by %s: %d %s", id, status, body)
		}
	}
	status, h, body = s.get("/v1.0/users/" + mb + "/messages/AAMkAGQ=")
	wantError(t, status, h, body, 400, "ErrorInvalidIdMalformed")
	if err := s.tn.Delete(mb, moved.ID); err != nil {
		t.Fatal(err)
	}
	status, h, body = s.get("/v1.0/users/" + mb + "/messages/" + esc(r.ImmutableID))
	wantError(t, status, h, body, 404, "ErrorItemNotFound")
}

func TestValueBytes(t *testing.T) {
	s, mb, inbox := mailTenant(t, Config{Seed: 12}, 40)
	big, err := s.tn.Deliver(mb, inbox, MessageSpec{Size: 3 << 20, Subject: "Größe: big one"})
	if err != nil {
		t.Fatal(err)
	}
	refs, _ := s.tn.Messages(mb, inbox)
	kinds := map[string]int{}
	for _, r := range refs {
		want, err := s.tn.MIME(mb, r.ImmutableID)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(want)) != r.Size {
			t.Fatalf("MessageRef.Size %d, MIME %d bytes", r.Size, len(want))
		}
		status, h, body := s.get("/v1.0/users/" + mb + "/messages/" + esc(r.ID) + "/$value")
		if status != 200 || !bytes.Equal(body, want) || h.Get("Content-Type") != "text/plain" || h.Get("Content-Length") != strconv.Itoa(len(want)) {
			t.Fatalf("$value of %s: %d %v, %d bytes, want %d", r.ID, status, h, len(body), len(want))
		}
		again, _ := s.tn.MIME(mb, r.ID)
		if !bytes.Equal(again, want) {
			t.Fatal("MIME differs between calls")
		}
		kinds[checkMIME(t, want, r)]++
	}
	for _, k := range []string{"text/plain", "text/html", "multipart/alternative", "multipart/mixed"} {
		if kinds[k] == 0 {
			t.Fatalf("no %s among generated messages: %v", k, kinds)
		}
	}
	if big.Size < 3<<20*9/10 || big.Size > 3<<20*11/10 {
		t.Fatalf("large message is %d bytes, asked for about %d", big.Size, 3<<20)
	}
	// A second tenant with the same seed serves the same bytes.
	twin, mb2, inbox2 := mailTenant(t, Config{Seed: 12}, 40)
	refs2, _ := twin.tn.Messages(mb2, inbox2)
	a, _ := s.tn.MIME(mb, refs[7].ID)
	b, _ := twin.tn.MIME(mb2, refs2[7].ID)
	if refs2[7].ImmutableID != refs[7].ImmutableID || !bytes.Equal(a, b) {
		t.Fatal("same seed, different messages")
	}
}

// checkMIME parses a generated message and returns its top content type.
func checkMIME(t *testing.T, raw []byte, r MessageRef) string {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s: %v", r.ID, err)
	}
	dec := new(mime.WordDecoder)
	subj, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subj != r.Subject {
		t.Fatalf("subject %q (%v), want %q", subj, err, r.Subject)
	}
	if id := msg.Header.Get("Message-ID"); id != "<"+r.InternetMessageID+">" {
		t.Fatalf("Message-ID %q, want %q", id, r.InternetMessageID)
	}
	if _, err := msg.Header.Date(); err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		walkParts(t, msg.Body, params["boundary"])
	}
	return mt
}

func walkParts(t *testing.T, body io.Reader, boundary string) {
	t.Helper()
	mr := multipart.NewReader(body, boundary)
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		mt, params, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(mt, "multipart/") {
			walkParts(t, p, params["boundary"])
			continue
		}
		// multipart.Reader decodes quoted-printable; base64 is checked here.
		if p.Header.Get("Content-Transfer-Encoding") == "base64" {
			b, _ := io.ReadAll(p)
			if _, err := io.Copy(io.Discard, newB64(b)); err != nil {
				t.Fatalf("attachment is not base64: %v", err)
			}
		} else if _, err := io.ReadAll(p); err != nil {
			t.Fatal(err)
		}
	}
}

func TestValueStreamsLargeMessage(t *testing.T) {
	s, mb, inbox := mailTenant(t, Config{Seed: 13}, 0)
	r, err := s.tn.Deliver(mb, inbox, MessageSpec{Size: 50 << 20})
	if err != nil {
		t.Fatal(err)
	}
	want := sha256.New()
	n, err := s.tn.WriteMIME(mb, r.ID, want)
	if err != nil || n != r.Size {
		t.Fatalf("WriteMIME: %d, %v; size %d", n, err, r.Size)
	}
	resp, err := s.do("/v1.0/users/" + mb + "/messages/" + esc(r.ImmutableID) + "/$value")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got := sha256.New()
	m, err := io.Copy(got, resp.Body)
	if err != nil || m != n || !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Fatalf("streamed %d bytes (%v), want %d with the same hash", m, err, n)
	}
	if c := s.tn.Counters().Mailboxes[mb]; c.ValueBytes != n || c.ByRoute[RouteValue] != 1 {
		t.Fatalf("counters: %+v", c)
	}
}

func TestListingAndDrafts(t *testing.T) {
	s, mb, inbox := mailTenant(t, Config{Seed: 14}, 23)
	seen := map[string]bool{}
	var last time.Time
	for link := "/v1.0/users/" + mb + "/mailFolders/" + esc(inbox) + "/messages?$top=5&$select=receivedDateTime"; link != ""; {
		status, _, body := s.get(link, immutable)
		if status != 200 {
			t.Fatalf("%d %s", status, body)
		}
		var p struct {
			NextLink string `json:"@odata.nextLink"`
			Value    []struct {
				ID       string    `json:"id"`
				Received time.Time `json:"receivedDateTime"`
			}
		}
		mustJSON(t, body, &p)
		for _, v := range p.Value {
			if seen[v.ID] {
				t.Fatalf("listed twice: %s", v.ID)
			}
			if !last.IsZero() && v.Received.After(last) {
				t.Fatalf("listing not newest first")
			}
			seen[v.ID], last = true, v.Received
		}
		link = p.NextLink
	}
	if len(seen) != 23 {
		t.Fatalf("listed %d of 23", len(seen))
	}
	status, h, body := s.get("/v1.0/users/" + mb + "/mailFolders/inbox/messages?$filter=isRead%20eq%20false")
	wantError(t, status, h, body, 400, "ErrorInvalidUrlQueryFilter")

	drafts, _ := s.tn.FolderID(mb, "drafts")
	d, err := s.tn.Deliver(mb, drafts, MessageSpec{Draft: true, Subject: "plan"})
	if err != nil {
		t.Fatal(err)
	}
	before, _ := s.tn.MIME(mb, d.ID)
	if bytes.Contains(before, []byte("Received:")) {
		t.Fatal("a draft has a Received header")
	}
	s.clk.Advance(time.Minute)
	edited, err := s.tn.EditDraft(mb, d.ImmutableID)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := s.tn.MIME(mb, d.ID)
	if bytes.Equal(before, after) || edited.ID != d.ID || !edited.LastModified.After(d.LastModified) {
		t.Fatalf("edit did not change the draft: %+v -> %+v", d, edited)
	}
	refs, _ := s.tn.Messages(mb, inbox)
	if _, err := s.tn.EditDraft(mb, refs[0].ID); err == nil {
		t.Fatal("edited a message that is not a draft")
	}
}
