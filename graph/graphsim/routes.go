package graphsim

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// prefs are the Prefer preferences of a request.
type prefs struct {
	immutable bool
	maxPage   int
}

func parsePrefer(r *http.Request) prefs {
	var p prefs
	for _, hv := range r.Header.Values("Prefer") {
		for _, part := range strings.Split(hv, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			v = strings.Trim(strings.TrimSpace(v), `"`)
			switch {
			case eq(strings.TrimSpace(k), "IdType") && eq(v, "ImmutableId"):
				p.immutable = true
			case eq(strings.TrimSpace(k), "odata.maxpagesize"):
				if n, err := strconv.Atoi(v); err == nil && n > 0 {
					p.maxPage = n
				}
			}
		}
	}
	return p
}

func (q *request) applyPrefs(p prefs, pageApplied int) {
	var applied []string
	if pageApplied > 0 {
		applied = append(applied, "odata.maxpagesize="+strconv.Itoa(pageApplied))
	}
	if p.immutable {
		applied = append(applied, `IdType="ImmutableId"`)
	}
	if len(applied) > 0 {
		q.w.Header().Set("Preference-Applied", strings.Join(applied, ", "))
	}
}

// --- users

var userDefaultFields = []string{"businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"}

var userAllFields = append(append([]string(nil), userDefaultFields...), "proxyAddresses", "accountEnabled", "mailNickname", "userType", "onPremisesSyncEnabled")

func parseUserSelect(s string) ([]string, string, bool) {
	if s == "" {
		return userDefaultFields, "", true
	}
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		found := ""
		for _, k := range userAllFields {
			if eq(k, f) {
				found = k
			}
		}
		if found == "" {
			return nil, f, false
		}
		out = append(out, found)
	}
	return out, "", true
}

func userJSON(u *user, fields []string) jobj {
	var mail any
	if u.Mail != "" {
		mail = u.Mail
	}
	given, sur, _ := strings.Cut(u.DisplayName, " ")
	proxies := []string{}
	if u.Mail != "" {
		proxies = append(proxies, "SMTP:"+u.Mail)
		for _, a := range u.Aliases {
			proxies = append(proxies, "smtp:"+a)
		}
	}
	local, _, _ := strings.Cut(u.UPN, "@")
	var onPrem any
	if u.Kind == OnPremisesMailbox {
		onPrem = true
	}
	val := map[string]any{
		"businessPhones": []string{}, "displayName": u.DisplayName, "givenName": given, "jobTitle": nil,
		"mail": mail, "mobilePhone": nil, "officeLocation": nil, "preferredLanguage": "en-US", "surname": sur,
		"userPrincipalName": u.UPN, "id": u.ID, "proxyAddresses": proxies, "accountEnabled": u.Kind != SharedMailbox,
		"mailNickname": local, "userType": "Member", "onPremisesSyncEnabled": onPrem,
	}
	o := make(jobj, 0, len(fields))
	for _, f := range fields {
		o = append(o, jkv{f, val[f]})
	}
	return o
}

func (t *Tenant) checkDirectoryRole(q *request, key string) bool {
	if me := q.token.user; me != nil && (eq(key, me.ID) || eq(key, me.UPN)) && q.token.has("User.Read", "User.ReadBasic.All", "User.Read.All") {
		return true // a user may read their own profile
	}
	if !q.token.has(directoryRoles...) {
		q.fail(http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
		return false
	}
	return true
}

func (t *Tenant) serveUser(q *request, key string) {
	if !t.checkDirectoryRole(q, key) {
		return
	}
	fields, bad, ok := parseUserSelect(q.r.URL.Query().Get("$select"))
	if !ok {
		q.fail(http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf("Could not find a property named '%s' on type 'Microsoft.DirectoryServices.User'.", bad))
		return
	}
	t.mu.Lock()
	u, found := t.directoryUserLocked(key)
	var body jobj
	if found {
		ctx := q.graphBase() + "/$metadata#users/$entity"
		if q.r.URL.Query().Get("$select") != "" {
			ctx = q.graphBase() + "/$metadata#users(" + strings.Join(fields, ",") + ")/$entity"
		}
		body = append(jobj{{"@odata.context", ctx}}, userJSON(u, fields)...)
	}
	t.mu.Unlock()
	if !found {
		q.fail(http.StatusNotFound, "Request_ResourceNotFound", fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", key))
		return
	}
	q.writeJSON(http.StatusOK, body)
}

var (
	proxyFilter = regexp.MustCompile(`(?i)^\s*proxyAddresses/any\(\s*(\w+)\s*:\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*\)\s*$`)
	eqFilter    = regexp.MustCompile(`(?i)^\s*(mail|userPrincipalName)\s+eq\s+'((?:[^']|'')*)'\s*$`)
)

func (t *Tenant) serveUserList(q *request) {
	if !t.checkDirectoryRole(q, "") {
		return
	}
	v := q.r.URL.Query()
	fields, bad, ok := parseUserSelect(v.Get("$select"))
	if !ok {
		q.fail(http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf("Could not find a property named '%s' on type 'Microsoft.DirectoryServices.User'.", bad))
		return
	}
	filter := v.Get("$filter")
	var match func(u *user) bool
	if m := proxyFilter.FindStringSubmatch(filter); m != nil && m[1] == m[2] {
		if !eq(q.r.Header.Get("ConsistencyLevel"), "eventual") || !eq(v.Get("$count"), "true") {
			q.fail(http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause specified for property 'proxyAddresses' of resource 'User'. This is an advanced query: send the header 'ConsistencyLevel: eventual' and $count=true.")
			return
		}
		want := strings.ReplaceAll(m[3], "''", "'")
		match = func(u *user) bool {
			for _, p := range userJSON(u, []string{"proxyAddresses"})[0].v.([]string) {
				if eq(p, want) {
					return true
				}
			}
			return false
		}
	} else if m := eqFilter.FindStringSubmatch(filter); m != nil {
		want := strings.ReplaceAll(m[2], "''", "'")
		byMail := eq(m[1], "mail")
		match = func(u *user) bool {
			if byMail {
				return eq(u.Mail, want)
			}
			return eq(u.UPN, want)
		}
	} else {
		q.fail(http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause. The simulator lists users only with proxyAddresses/any(x:x eq 'smtp:address'), mail eq '...' or userPrincipalName eq '...'.")
		return
	}
	t.mu.Lock()
	vals := []jobj{}
	for _, u := range t.users {
		if match(u) {
			vals = append(vals, userJSON(u, fields))
		}
	}
	t.mu.Unlock()
	body := jobj{{"@odata.context", q.graphBase() + "/$metadata#users"}}
	if eq(v.Get("$count"), "true") {
		body = append(body, jkv{"@odata.count", len(vals)})
	}
	body = append(body, jkv{"value", vals})
	q.writeJSON(http.StatusOK, body)
}

// --- folders

var folderFields = []string{"id", "displayName", "parentFolderId", "childFolderCount", "unreadItemCount", "totalItemCount", "sizeInBytes", "isHidden"}

// parseFolderSelect reads $select on folder routes; nil means every field.
func parseFolderSelect(q *request) (map[string]bool, bool) {
	s := q.r.URL.Query().Get("$select")
	if strings.TrimSpace(s) == "" {
		return nil, true
	}
	sel := map[string]bool{"id": true}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		found := false
		for _, k := range folderFields {
			if eq(k, f) {
				sel[k], found = true, true
			}
		}
		if !found {
			q.fail(http.StatusBadRequest, "RequestBroker--ParseUri", fmt.Sprintf("Could not find a property named '%s' on type 'microsoft.graph.mailFolder'.", f))
			return nil, false
		}
	}
	return sel, true
}

func (t *Tenant) folderJSON(mb *mailbox, f *folder, sel map[string]bool) jobj {
	fi := t.folderInfoLocked(mb, f)
	all := jobj{
		{"id", fi.ID}, {"displayName", fi.DisplayName}, {"parentFolderId", fi.ParentID},
		{"childFolderCount", fi.ChildCount}, {"unreadItemCount", fi.UnreadCount},
		{"totalItemCount", fi.TotalCount}, {"sizeInBytes", fi.TotalCount * 4096}, {"isHidden", fi.Hidden},
	}
	if sel == nil {
		return all
	}
	out := jobj{}
	for _, kv := range all {
		if sel[kv.k] {
			out = append(out, kv)
		}
	}
	return out
}

// resolveFolderLocked finds the folder a path segment names, answering
// the request when there is none.
func (t *Tenant) resolveFolderLocked(q *request, key string) (*folder, bool) {
	f, fl := t.folderByKeyLocked(q.mb, key)
	if fl != nil {
		q.answer(fl)
		return nil, false
	}
	return f, true
}

func pageParams(q *request, def int) (top, skip int, ok bool) {
	v := q.r.URL.Query()
	top, skip = def, 0
	if s := v.Get("$top"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			q.fail(http.StatusBadRequest, "ErrorInvalidUrlQuery", "The value of $top must be a number from 1 to 1000.")
			return 0, 0, false
		}
		top = n
	}
	if s := v.Get("$skip"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			q.fail(http.StatusBadRequest, "ErrorInvalidUrlQuery", "The value of $skip must be a number of at least 0.")
			return 0, 0, false
		}
		skip = n
	}
	return top, skip, true
}

func (q *request) folderPath(f *folder) string {
	return q.graphBase() + "/users/" + url.PathEscape(q.userKey) + "/mailFolders/" + url.PathEscape(f.id)
}

func (t *Tenant) serveFolderList(q *request, key string, child bool) {
	top, skip, ok := pageParams(q, 10)
	if !ok {
		return
	}
	sel, ok := parseFolderSelect(q)
	if !ok {
		return
	}
	hidden := eq(q.r.URL.Query().Get("includeHiddenFolders"), "true")
	t.mu.Lock()
	mb := q.mb
	var parent *folder
	if child {
		if parent, ok = t.resolveFolderLocked(q, key); !ok {
			t.mu.Unlock()
			return
		}
	} else {
		parent = mb.folders[0] // msgfolderroot: v1.0 lists the top level only
	}
	kids := mb.children(parent, hidden)
	vals := []jobj{}
	for i := skip; i < len(kids) && i < skip+top; i++ {
		vals = append(vals, t.folderJSON(mb, kids[i], sel))
	}
	base := q.graphBase() + "/users/" + url.PathEscape(q.userKey) + "/mailFolders"
	ctx := q.graphBase() + "/$metadata#users('" + url.PathEscape(q.userKey) + "')/mailFolders"
	if child {
		base = q.folderPath(parent) + "/childFolders"
		ctx += "('" + parent.id + "')/childFolders"
	}
	t.mu.Unlock()
	body := jobj{{"@odata.context", ctx}}
	if skip+top < len(kids) {
		link := fmt.Sprintf("%s?$top=%d&$skip=%d", base, top, skip+top)
		if hidden {
			link = fmt.Sprintf("%s?includeHiddenFolders=true&$top=%d&$skip=%d", base, top, skip+top)
		}
		if s := q.r.URL.Query().Get("$select"); s != "" {
			link += "&$select=" + url.QueryEscape(s)
		}
		body = append(body, jkv{"@odata.nextLink", link})
	}
	body = append(body, jkv{"value", vals})
	q.writeJSON(http.StatusOK, body)
}

func (t *Tenant) serveFolder(q *request, key string) {
	sel, ok := parseFolderSelect(q)
	if !ok {
		return
	}
	t.mu.Lock()
	f, ok := t.resolveFolderLocked(q, key)
	if !ok {
		t.mu.Unlock()
		return
	}
	body := append(jobj{{"@odata.context", q.graphBase() + "/$metadata#users('" + url.PathEscape(q.userKey) + "')/mailFolders/$entity"}}, t.folderJSON(q.mb, f, sel)...)
	t.mu.Unlock()
	q.writeJSON(http.StatusOK, body)
}

// --- messages

var messageFields = []string{
	"createdDateTime", "lastModifiedDateTime", "changeKey", "categories", "receivedDateTime", "sentDateTime",
	"hasAttachments", "internetMessageId", "subject", "bodyPreview", "importance", "parentFolderId",
	"conversationId", "isDeliveryReceiptRequested", "isReadReceiptRequested", "isRead", "isDraft", "webLink",
	"inferenceClassification", "body", "sender", "from", "toRecipients", "ccRecipients", "bccRecipients",
	"replyTo", "flag",
}

const selectExplicit = uint64(1) << 63

// Bits of the fields that need the message body generated.
const (
	bodyPreviewField = 9
	bodyField        = 19
)

// parseMessageSelect turns $select into a bit mask over messageFields;
// 0 means Graph's default set.
func parseMessageSelect(s string) (uint64, string, bool) {
	if strings.TrimSpace(s) == "" {
		return 0, "", true
	}
	mask := selectExplicit
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if eq(f, "id") {
			continue
		}
		found := false
		for i, k := range messageFields {
			if eq(k, f) {
				mask |= 1 << uint(i)
				found = true
			}
		}
		if !found {
			return 0, f, false
		}
	}
	return mask, "", true
}

// expandClass in a selection mask asks for the item class as Graph's
// singleValueExtendedProperties; the mask travels in delta tokens.
const expandClass = uint64(1) << 62

var expandProperty = regexp.MustCompile(`(?i)^\s*singleValueExtendedProperties\s*\(\s*\$filter\s*=\s*id\s+eq\s+'(\w+)\s+0x([0-9a-f]{1,4})'\s*\)\s*$`)

// parseMessageExpand reads $expand on message routes: an extended
// property by ID, of which the simulator's items hold one, the item class
// (PidTagMessageClass, String 0x001A). Asking for another expands nothing,
// as Graph does for a property the items lack.
func parseMessageExpand(s string) (uint64, bool) {
	if strings.TrimSpace(s) == "" {
		return 0, true
	}
	m := expandProperty.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	if tag, _ := strconv.ParseUint(m[2], 16, 16); eq(m[1], "String") && tag == 0x1a {
		return expandClass, true
	}
	return 0, true
}

// messageSelection reads $select and $expand of a message route into a
// selection mask, answering the request when they cannot be served.
func messageSelection(q *request) (uint64, bool) {
	v := q.r.URL.Query()
	sel, bad, ok := parseMessageSelect(v.Get("$select"))
	if !ok {
		q.fail(http.StatusBadRequest, "RequestBroker--ParseUri", fmt.Sprintf("Could not find a property named '%s' on type 'microsoft.graph.message'.", bad))
		return 0, false
	}
	exp, ok := parseMessageExpand(v.Get("$expand"))
	if !ok {
		q.fail(http.StatusBadRequest, "BadRequest", "Parsing OData Select and Expand failed: the simulator expands singleValueExtendedProperties($filter=id eq 'Type 0xTag') only.")
		return 0, false
	}
	return sel | exp, true
}

// pageLink is the link to the next page of a listing, with the query
// options the request gave.
func pageLink(q *request, base string, top, skip int) string {
	link := fmt.Sprintf("%s?$top=%d&$skip=%d", base, top, skip)
	for _, k := range []string{"$select", "$expand"} {
		if s := q.r.URL.Query().Get(k); s != "" {
			link += "&" + k + "=" + url.QueryEscape(s)
		}
	}
	return link
}

func emailAddress(name, addr string) jobj {
	return jobj{{"emailAddress", jobj{{"name", name}, {"address", addr}}}}
}

func (t *Tenant) publicMessageID(mb *mailbox, serial uint32, gen uint16, immutable bool) string {
	if immutable {
		return t.messageID(immutableID, mb.idx, serial, 0)
	}
	return t.messageID(regularID, mb.idx, serial, gen)
}

func (t *Tenant) messageJSON(mb *mailbox, serial uint32, sel uint64, immutable, typed bool) jobj {
	m := &mb.msgs[serial]
	fields := sel &^ expandClass
	md := t.metaLocked(mb, serial, fields == 0 || fields&(1<<bodyField|1<<bodyPreviewField) != 0)
	class := t.classes[m.class]
	changeKey := changeKeyOf(m)
	categories := mb.categories[serial]
	if categories == nil {
		categories = []string{}
	}
	flag := "notFlagged"
	if m.flags&flagFlagged != 0 {
		flag = "flagged"
	}
	id := t.publicMessageID(mb, serial, m.gen, immutable)
	received := time.Unix(m.received, 0).UTC().Format(time.RFC3339)
	var sent any = md.sent.UTC().Format(time.RFC3339)
	if md.sent.IsZero() {
		sent = nil
	}
	to := []jobj{}
	if md.toAddr != "" {
		to = append(to, emailAddress(md.toName, md.toAddr))
	}
	val := map[string]any{
		"createdDateTime": received, "lastModifiedDateTime": time.Unix(m.modified, 0).UTC().Format(time.RFC3339),
		"changeKey": changeKey, "categories": categories, "receivedDateTime": received, "sentDateTime": sent,
		"hasAttachments": md.hasAttachments, "internetMessageId": "<" + md.msgID + ">", "subject": md.subject,
		"bodyPreview": md.preview, "importance": "normal", "parentFolderId": mb.folders[m.folder].id,
		"conversationId": t.conversationID(mb, serial, md.subject), "isDeliveryReceiptRequested": false, "isReadReceiptRequested": false,
		"isRead": m.flags&flagRead != 0, "isDraft": m.flags&flagDraft != 0,
		"webLink":                 "https://outlook.office365.com/owa/?ItemID=" + url.QueryEscape(id) + "&exvsurl=1&viewmodel=ReadMessageItem",
		"inferenceClassification": "focused",
		"body":                    jobj{{"contentType", "html"}, {"content", htmlOf(md.body)}},
		"sender":                  emailAddress(md.fromName, md.fromAddr), "from": emailAddress(md.fromName, md.fromAddr),
		"toRecipients": to, "ccRecipients": []jobj{}, "bccRecipients": []jobj{}, "replyTo": []jobj{},
		"flag": jobj{{"flagStatus", flag}},
	}
	if md.msgID == "" {
		val["internetMessageId"] = nil
	}
	if unsent(class) {
		val["internetMessageId"], val["sentDateTime"], val["sender"], val["from"] = nil, nil, nil, nil
	}
	o := jobj{}
	// A collection of messages names the type of an item that is not
	// plainly a message, such as a meeting request; a delta names every one.
	if ot := odataType(class); typed || ot != "#microsoft.graph.message" {
		o = append(o, jkv{"@odata.type", ot})
	}
	o = append(o, jkv{"@odata.etag", `W/"` + changeKey + `"`})
	for i, f := range messageFields {
		if fields == 0 || fields&(1<<uint(i)) != 0 {
			o = append(o, jkv{f, val[f]})
		}
	}
	if sel&expandClass != 0 {
		// Graph names the property in its short form: "String 0x1a".
		o = append(o, jkv{"singleValueExtendedProperties", []jobj{{{"id", "String 0x1a"}, {"value", class}}}})
	}
	return append(o, jkv{"id", id})
}

func rejectQuery(q *request, what string) bool {
	v := q.r.URL.Query()
	for _, k := range []string{"$filter", "$orderby", "$search"} {
		if v.Has(k) {
			q.fail(http.StatusBadRequest, "ErrorInvalidUrlQueryFilter", fmt.Sprintf("The simulator does not support %s on %s: a filtered message delta stops at 5,000 items on Graph, so filter on the client.", k, what))
			return true
		}
	}
	return false
}

func (t *Tenant) serveMessageList(q *request, key string) {
	if rejectQuery(q, "message listings") {
		return
	}
	top, skip, ok := pageParams(q, 10)
	if !ok {
		return
	}
	sel, ok := messageSelection(q)
	if !ok {
		return
	}
	p := parsePrefer(q.r)
	t.mu.Lock()
	mb := q.mb
	var serials []uint32
	base := q.graphBase() + "/users/" + url.PathEscape(q.userKey) + "/messages"
	if key != "" {
		f, ok := t.resolveFolderLocked(q, key)
		if !ok {
			t.mu.Unlock()
			return
		}
		serials = f.serials
		base = q.folderPath(f) + "/messages"
	} else {
		for s := range mb.msgs {
			m := &mb.msgs[s]
			if m.flags&flagGone == 0 && mb.inIPM(mb.folders[m.folder]) {
				serials = append(serials, uint32(s))
			}
		}
	}
	// Newest delivered first, as Graph lists by receivedDateTime descending.
	vals := []jobj{}
	for i := skip; i < len(serials) && i < skip+top; i++ {
		vals = append(vals, t.messageJSON(mb, serials[len(serials)-1-i], sel, p.immutable, false))
	}
	total := len(serials)
	t.mu.Unlock()
	q.applyPrefs(p, 0)
	body := jobj{{"@odata.context", q.graphBase() + "/$metadata#users('" + url.PathEscape(q.userKey) + "')/messages"}}
	if skip+top < total {
		body = append(body, jkv{"@odata.nextLink", pageLink(q, base, top, skip+top)})
	}
	body = append(body, jkv{"value", vals})
	q.writeJSON(http.StatusOK, body)
}

func (mb *mailbox) inIPM(f *folder) bool {
	for f != nil {
		if f.wellKnown == "msgfolderroot" {
			return true
		}
		if f.parent < 0 {
			return false
		}
		f = mb.folders[f.parent]
	}
	return false
}

// resolveMessageLocked finds a live message, answering the request when
// there is none.
func (t *Tenant) resolveMessageLocked(q *request, id string) (uint32, bool) {
	s, fl := t.liveMessageLocked(q.mb, id)
	if fl != nil {
		q.answer(fl)
		return 0, false
	}
	return s, true
}

func (t *Tenant) serveMessage(q *request, id string) {
	sel, ok := messageSelection(q)
	if !ok {
		return
	}
	p := parsePrefer(q.r)
	t.mu.Lock()
	s, ok := t.resolveMessageLocked(q, id)
	if !ok {
		t.mu.Unlock()
		return
	}
	body := append(jobj{{"@odata.context", q.graphBase() + "/$metadata#users('" + url.PathEscape(q.userKey) + "')/messages/$entity"}}, t.messageJSON(q.mb, s, sel, p.immutable, false)...)
	t.mu.Unlock()
	q.applyPrefs(p, 0)
	q.writeJSON(http.StatusOK, body)
}

// serveValue streams a message's MIME. With truncate, it announces the
// full length, sends half and drops the connection.
func (t *Tenant) serveValue(q *request, id string, truncate bool) {
	t.mu.Lock()
	s, ok := t.resolveMessageLocked(q, id)
	if !ok {
		t.mu.Unlock()
		return
	}
	sn, prepared := t.snapLocked(q.mb, s), q.mb.preparedLocked(s)
	t.mu.Unlock()
	l := sn.mimeLayout(prepared)
	size := l.size()
	h := q.w.Header()
	h.Set("Content-Type", "text/plain")
	h.Set("Content-Length", strconv.FormatInt(size, 10))
	q.w.WriteHeader(http.StatusOK)
	if !truncate {
		_, _ = l.writeTo(q.w)
		return
	}
	_, _ = l.writeTo(&cutWriter{w: q.w, left: size / 2})
	_ = http.NewResponseController(q.w).Flush()
	panic(http.ErrAbortHandler)
}

// cutWriter passes on the first left bytes and swallows the rest.
type cutWriter struct {
	w    interface{ Write([]byte) (int, error) }
	left int64
}

func (c *cutWriter) Write(p []byte) (int, error) {
	n := len(p)
	if c.left <= 0 {
		return 0, errCut
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	k, err := c.w.Write(p)
	c.left -= int64(k)
	if err != nil {
		return k, err
	}
	return n, nil
}

var errCut = errors.New("graphsim: body cut short on purpose")
