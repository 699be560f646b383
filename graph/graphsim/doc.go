// Package graphsim is an in-process model of a Microsoft 365 tenant that
// speaks the Microsoft Graph v1.0 and Entra ID (v2.0 token endpoint) wire
// protocols, so that the same client code runs against it and against the
// real service.
//
// It is a model, not a replay: a Tenant holds a directory (users, shared
// mailboxes, users without a mailbox, on-premises users, app registrations
// and which app may read which mailbox), mailboxes with folder trees, and
// messages whose MIME is generated on demand from a seed, byte for byte the
// same on every call. A message costs a few dozen bytes of memory whatever
// its size; a 50 MB message is streamed, never held whole.
//
// # How tests use it
//
//	clk := clock.NewFake(time.Date(2024, 6, 1, 9, 0, 0, 0, time.UTC))
//	tn := graphsim.New(graphsim.Config{Seed: 7, Clock: clk})
//	u, _ := tn.AddUser(graphsim.UserSpec{UPN: "ann@contoso.invalid", Aliases: []string{"a@contoso.invalid"}})
//	inbox, _ := tn.FolderID(u.UPN, "inbox")
//	_ = tn.Populate(u.UPN, inbox, graphsim.Populate{Count: 500})
//	srv := httptest.NewServer(tn.Handler())
//	defer srv.Close()
//	creds := tn.Credentials() // tenant ID, client ID and secret of the default app
//	// point the client at srv.URL: Graph under srv.URL+"/v1.0", login under srv.URL; run it, then:
//	_, _ = tn.Move(u.UPN, someID, otherFolderID) // mutate between runs
//	c := tn.Counters()                           // assert efficiency and politeness
//	_ = tn.InjectFaults(u.UPN, graphsim.Fault{Kind: graphsim.FaultTruncate, Route: graphsim.RouteValue})
//
// Start (or the cmd/graphsim program) serves a Tenant on a real listener.
//
// # HTTP surface
//
// Login (Entra ID), tenant given by ID or domain:
//
//	POST /{tenant}/oauth2/v2.0/token       grant_type=client_credentials (client_secret, scope .../.default)
//	POST /{tenant}/oauth2/v2.0/devicecode  client_id, scope (public client apps)
//	POST /{tenant}/oauth2/v2.0/token       grant_type=urn:ietf:params:oauth:grant-type:device_code
//	POST /{tenant}/oauth2/v2.0/token       grant_type=refresh_token
//
// Success is {"token_type":"Bearer","expires_in":..,"access_token":..}
// (plus scope, refresh_token with offline_access, id_token with openid for
// user sign-ins). Failures have the Entra shape (error, error_description
// with Trace ID, Correlation ID and Timestamp, error_codes, timestamp,
// trace_id, correlation_id, error_uri): AADSTS90002 unknown tenant,
// AADSTS700016 unknown application, AADSTS7000215 wrong secret,
// AADSTS7000218 no secret, AADSTS700027 a certificate assertion whose
// thumbprint is not registered (AddCertificate) or whose RS256 signature
// does not verify, AADSTS700021 iss or sub not the client ID,
// AADSTS700023 aud not the token endpoint, AADSTS700211/700213/700212 a
// federated token whose issuer, subject or audience no federated
// credential names (AddFederatedCredential), AADSTS700024 an assertion
// out of its time range, AADSTS70003 other grant types, AADSTS1002012
// scope without /.default, AADSTS500011 another resource; for device
// codes AADSTS70016 authorization_pending, AADSTS70000
// authorization_declined, AADSTS70020 expired_token, AADSTS65001 a scope
// the app has no consent for; for refresh tokens AADSTS50173 revoked and
// AADSTS700082 expired. Tenant.ApproveDeviceCodes and DenyDeviceCodes
// decide what the "user" does at the prompt; SetDeviceCodeTiming sets the
// polling interval and code lifetime; FailSignIns makes every token
// request answer a chosen AADSTS error (65001, 90094, 50020, ...).
//
// Access tokens are JWT-shaped and unsigned (alg "none") with tid, appid,
// roles (app-only) or scp, oid and upn (user), iat, nbf and exp on the
// simulator's clock; the server also keeps them, so they can be revoked.
//
// Graph (every route needs "Authorization: Bearer <token>", otherwise 401
// InvalidAuthenticationToken):
//
//	GET /v1.0/users/{id|userPrincipalName}                    ($select honoured; /me for user tokens)
//	GET /v1.0/users?$filter=proxyAddresses/any(x:x eq 'smtp:addr')&$count=true   (needs ConsistencyLevel: eventual)
//	GET /v1.0/users/{u}/mailFolders[?includeHiddenFolders=true&$top=&$skip=]
//	GET /v1.0/users/{u}/mailFolders/{id|wellKnownName}
//	GET /v1.0/users/{u}/mailFolders/{id}/childFolders[?includeHiddenFolders=true&$top=&$skip=]
//	GET /v1.0/users/{u}/mailFolders/{id}/messages[?$top=&$skip=&$select=&$expand=]
//	GET /v1.0/users/{u}/mailFolders/{id}/messages/delta[?$select=&$expand=]   (then nextLink/deltaLink verbatim)
//	GET /v1.0/users/{u}/mailFolders/delta                      (every folder, flat; later rounds: changed folders)
//	GET /v1.0/users/{u}/messages/{id}[?$select=]   and   .../mailFolders/{f}/messages/{id}
//	GET /v1.0/users/{u}/messages/{id}/$value       and   .../mailFolders/{f}/messages/{id}/$value
//
// The delta function may be written delta, delta() or
// microsoft.graph.delta(). Segment names are matched case-insensitively, and IDs are read from the
// escaped path, so an ID with "/" must arrive as %2F. Errors have Graph's
// shape {"error":{"code","message","innerError":{"date","request-id",
// "client-request-id"}}}; every response carries request-id and
// client-request-id headers.
//
// Choices where Graph is loose, made to be faithful and strict:
//
//   - GET /users/{key} resolves only an object ID or a userPrincipalName,
//     as the directory does; a primary SMTP address that differs from the
//     UPN, or an alias, gives 404 Request_ResourceNotFound, so clients must
//     fall back to the proxyAddresses filter. Mailbox routes
//     (/users/{key}/mailFolders, /messages) also accept the primary SMTP
//     address, as Exchange does.
//   - The proxyAddresses filter needs both "ConsistencyLevel: eventual" and
//     $count=true (400 Request_UnsupportedQuery otherwise) and matches
//     case-insensitively. Other $filter expressions on /users are refused.
//   - $expand on message routes takes single-value extended properties by
//     ID only: $expand=singleValueExtendedProperties($filter=id eq 'String
//     0x001A') gives each item its class (PidTagMessageClass), named
//     "String 0x1a" in the answer as Graph names it; other properties are
//     held by no item. Items that are not mail (MessageSpec.Class) are
//     served as messages, meeting messages as eventMessage types; notes,
//     tasks, calendar items and contacts have no sender, Internet message
//     ID or sent time.
//   - $filter, $orderby and $search on messages/delta are refused with 400
//     ErrorInvalidUrlQueryFilter: Graph caps a filtered message delta at
//     5,000 items, so a collector must filter on its side.
//   - Default page sizes: 10 for delta without "Prefer: odata.maxpagesize",
//     10 for folder and message listings without $top; caps 1000.
//   - "Prefer: IdType=\"ImmutableId\"" (echoed in Preference-Applied) makes
//     message IDs immutable; otherwise regular IDs are served, and they
//     change when a message moves. Both kinds are accepted in /messages/{id};
//     a regular ID from before a move gives 404 ErrorItemNotFound. Folder IDs
//     never change. All IDs are base64 with "/", "+" and "=".
//   - $value answers 200 with Content-Type text/plain (what Graph sends) and
//     an exact Content-Length.
//   - A mailbox marked full answers delta with 507 ErrorQuotaExceeded;
//     plain listings still work.
//   - An unknown user on a mailbox route gives 404 ErrorInvalidUser; a user
//     without an Exchange Online mailbox (no license, on-premises,
//     inactive) gives 404 MailboxNotEnabledForRESTAPI; an app without
//     Mail.Read, or kept out by an application access policy
//     (SetMailboxAccess), gives 403 ErrorAccessDenied; a signed-in user
//     reads their own mailbox, and another one only with Full Access
//     (GrantFullAccess) and Mail.Read.Shared.
//   - Well-known folders: msgfolderroot, inbox, sentitems, drafts,
//     deleteditems, junkemail, archive, outbox, conversationhistory,
//     clutter and syncissues (with conflicts, localfailures and
//     serverfailures; both hidden), and outside the listed tree
//     recoverableitemsroot, recoverableitemsdeletions,
//     recoverableitemspurges and recoverableitemsversions. "scheduled" and
//     "searchfolders" answer 404 ErrorItemNotFound.
//   - An expired or invalidated delta or skip token answers 410 Gone,
//     code SyncStateNotFound.
//   - Throttling is per (app, mailbox): more than Limits.MaxConcurrent
//     requests in flight give 429 MailboxConcurrency; more than
//     Limits.WindowRequests in a fixed window of Limits.Window give 429
//     ApplicationThrottled. Both carry Retry-After in the configured style.
//     Injected faults (FaultRates, InjectFaults) apply to mailbox routes.
//
// Time: every expiry, window and latency runs on Config.Clock. With a
// clock.Fake, Latency holds each request until the test advances the
// clock (clock.Fake.BlockUntil tells when requests are waiting), and a
// client's back-off sleeps do not move the simulator's time, so
// MailboxCounters.EarlyRetries is meaningful only with a clock shared by
// client and simulator (or the real one). HoldRequests parks a mailbox's
// admitted requests so a test can build exact concurrency.
//
// Simulator control (no auth; serve on loopback only):
//
//	GET  /_sim/counters   /_sim/messages?mailbox=&folder=
//	POST /_sim/deliver  /_sim/move  /_sim/delete  /_sim/edit-draft  /_sim/flag  /_sim/categorize
//	     /_sim/create-folder  /_sim/expire-delta-tokens  /_sim/revoke-tokens
//	     /_sim/quota  /_sim/faults  /_sim/advance   (JSON bodies, see sim.go)
//
// # The demo tenant
//
// Demo builds a fixed tenant with public, fake credentials (DemoTenantID,
// DemoTenantDomain, DemoClientID, DemoClientSecret: they open nothing but
// this simulator). Directory, domain demo.collect.invalid:
//
//	jane.doe@demo.collect.invalid      Jane Doe      alias jdoe@demo.collect.invalid
//	john.smith@demo.collect.invalid    John Smith
//	maria.garcia@demo.collect.invalid  Maria Garcia  alias m.garcia@demo.collect.invalid
//	wei.chen@demo.collect.invalid      Wei Chen
//	legal@demo.collect.invalid         Legal (shared mailbox)
//	contractor@demo.collect.invalid    Casey Contractor (no mailbox: MailboxNotEnabledForRESTAPI)
//	old.timer@demo.collect.invalid     Old Timer (on-premises: MailboxNotEnabledForRESTAPI)
//
// About 250 generated messages (plus the fixtures) are dated between
// 2023-01-01 and 2024-12-31: jane.doe@ has Inbox (60, one of them 3 MB),
// Sent Items, Archive, Deleted Items, Drafts (2 drafts), Inbox/Projects/
// Globex, a hidden top-level folder "Quarantined Notes" and Recoverable
// Items/Deletions; john.smith@, maria.garcia@ and wei.chen@ have Inbox and
// Sent Items (maria.garcia@ also Archive), legal@ an Inbox. maria.garcia@
// also holds the items beside mail of AddOtherItems: Teams chat copies in the
// hidden Conversation History/Team Chat, and a note, a task, a contact, a
// calendar item, a meeting request and a response in Deleted Items. When a fixtures directory is given,
// its .eml files are served byte for byte from legal@'s Inbox/Fixtures.
package graphsim
