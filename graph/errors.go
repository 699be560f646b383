package graph

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kind is the closed list of things that can go wrong talking to Graph
// or signing in to Entra ID. Callers switch on the kind, never on
// messages; what to do about each kind is said by the command, not here.
type Kind int

const (
	KindOther             Kind = iota
	KindThrottled              // 429, or 503 with Retry-After; MailboxConcurrency, ApplicationThrottled
	KindTransient              // 500/502/503/504, reset connections, truncated bodies
	KindTokenExpired           // 401 InvalidAuthenticationToken: refresh once and retry
	KindAccessDenied           // 403: no Full Access delegation, no consent, access policy
	KindMailboxNotEnabled      // MailboxNotEnabledForRESTAPI: on-premises, inactive, soft-deleted, guest
	KindNotFound               // ErrorItemNotFound / itemNotFound / 404 on a user
	KindSyncStateGone          // 410: syncStateNotFound, resyncRequired, SyncStateInvalid
	KindQuotaExceeded          // ErrorQuotaExceeded
	KindMalformedID            // ErrorInvalidIdMalformed
	KindCanceled               // the context was canceled
	KindAmbiguousAddress       // an address that several directory objects hold

	// Sign-in: what the token endpoint refused, or a credential collect
	// could not use. One kind per fix.
	KindConsentRequired       // AADSTS65001, 90094, 90095; a sign-in without offline_access
	KindAppNotInTenant        // AADSTS700016
	KindTenantNotFound        // AADSTS90002
	KindSecretRefused         // AADSTS7000215: not the Value of a current secret
	KindSecretExpired         // AADSTS7000222
	KindPublicClientDisabled  // AADSTS7000218: device code needs "Allow public client flows"
	KindForeignAccount        // AADSTS50020: an account of another tenant
	KindAssertionExpired      // AADSTS700024: the client assertion is out of its time range
	KindCertificateRefused    // AADSTS700027, 700023
	KindNoFederatedCredential // AADSTS70021, 700211, 700212, 700213
	KindFederatedTokenFile    // the CI token file is missing, empty or not a JWT
	KindLoginRequired         // AADSTS50173, 700082, 70043, 50133, 70008; no or a damaged cached sign-in
	KindTokenCacheUnsafe      // the cached sign-in can be read or written by other users
	KindDeviceCodeDeclined    // AADSTS70000, authorization_declined
	KindDeviceCodeExpired     // AADSTS70020, expired_token
	KindMFARequired           // AADSTS50076, 50079, 50158
	KindConditionalAccess     // AADSTS53003
	KindSignInRefused         // any other refusal of the token endpoint

	kindCount // not a kind: the length of the list
)

// kindNames are each kind's token (stable: plan files and -json output
// store it) and its display name (for people; free to change).
var kindNames = [kindCount]struct{ token, display string }{
	KindOther:                 {"other", "other"},
	KindThrottled:             {"throttled", "throttled"},
	KindTransient:             {"transient", "transient"},
	KindTokenExpired:          {"token_expired", "token expired"},
	KindAccessDenied:          {"access_denied", "access denied"},
	KindMailboxNotEnabled:     {"mailbox_not_enabled", "mailbox not enabled"},
	KindNotFound:              {"not_found", "not found"},
	KindSyncStateGone:         {"sync_state_gone", "sync state gone"},
	KindQuotaExceeded:         {"quota_exceeded", "quota exceeded"},
	KindMalformedID:           {"malformed_id", "malformed ID"},
	KindCanceled:              {"canceled", "canceled"},
	KindAmbiguousAddress:      {"ambiguous_address", "ambiguous address"},
	KindConsentRequired:       {"consent_required", "consent required"},
	KindAppNotInTenant:        {"app_not_in_tenant", "app not in tenant"},
	KindTenantNotFound:        {"tenant_not_found", "tenant not found"},
	KindSecretRefused:         {"secret_refused", "client secret refused"},
	KindSecretExpired:         {"secret_expired", "client secret expired"},
	KindPublicClientDisabled:  {"public_client_disabled", "public client flows off"},
	KindForeignAccount:        {"foreign_account", "account of another tenant"},
	KindAssertionExpired:      {"assertion_expired", "assertion expired"},
	KindCertificateRefused:    {"certificate_refused", "certificate refused"},
	KindNoFederatedCredential: {"no_federated_credential", "no federated credential"},
	KindFederatedTokenFile:    {"federated_token_file", "federated token file unusable"},
	KindLoginRequired:         {"login_required", "sign-in required"},
	KindTokenCacheUnsafe:      {"token_cache_unsafe", "token cache unsafe"},
	KindDeviceCodeDeclined:    {"device_code_declined", "device code declined"},
	KindDeviceCodeExpired:     {"device_code_expired", "device code expired"},
	KindMFARequired:           {"mfa_required", "multi-factor authentication required"},
	KindConditionalAccess:     {"conditional_access", "blocked by Conditional Access"},
	KindSignInRefused:         {"sign_in_refused", "sign-in refused"},
}

// Kinds lists every kind, in order.
func Kinds() []Kind {
	out := make([]Kind, kindCount)
	for i := range out {
		out[i] = Kind(i)
	}
	return out
}

// String is the kind's display name, as error messages show it.
func (k Kind) String() string {
	if k >= 0 && k < kindCount {
		return kindNames[k].display
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Token is the kind's stable name, such as "access_denied", for files and
// machine-readable output.
func (k Kind) Token() string {
	if k >= 0 && k < kindCount {
		return kindNames[k].token
	}
	return fmt.Sprintf("kind_%d", int(k))
}

// MarshalText writes the token.
func (k Kind) MarshalText() ([]byte, error) {
	if k < 0 || k >= kindCount {
		return nil, fmt.Errorf("graph: no kind %d", int(k))
	}
	return []byte(k.Token()), nil
}

// UnmarshalText reads a token, or a display name as plan files before
// tokens stored them ("access denied").
func (k *Kind) UnmarshalText(b []byte) error {
	s := string(b)
	for i, n := range kindNames {
		if s == n.token || s == n.display {
			*k = Kind(i)
			return nil
		}
	}
	return fmt.Errorf("graph: %q is not an error kind", s)
}

// Error is a failed Graph request, classified. It keeps what the run log
// needs: the HTTP status, Graph's error code and message, and the
// request-id Microsoft support asks for. It never holds a token.
type Error struct {
	Op         string // what collect was doing: "resolve mailbox", "delta", "fetch $value", ...
	Kind       Kind
	Status     int
	Code       string
	Message    string
	RequestID  string
	RetryAfter time.Duration // from Retry-After, when the server sent one
	Err        error         // the underlying cause, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	b.WriteString(": ")
	b.WriteString(e.Kind.String())
	if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d", e.Status)
		if e.Code != "" {
			fmt.Fprintf(&b, " %s", e.Code)
		}
		b.WriteString(")")
	} else if e.Code != "" {
		fmt.Fprintf(&b, " (%s)", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.Err != nil && e.Message == "" {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " [request-id %s]", e.RequestID)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of err: the Kind of the first *Error in its chain,
// KindCanceled for context cancellation, KindOther otherwise.
func KindOf(err error) Kind {
	var ge *Error
	if errors.As(err, &ge) {
		return ge.Kind
	}
	if errors.Is(err, context.Canceled) {
		return KindCanceled
	}
	return KindOther
}

// Classify maps an HTTP status and a Graph error code to a Kind. Codes are
// compared case-insensitively: Exchange answers in PascalCase
// (SyncStateNotFound) where the Graph docs write camelCase (syncStateNotFound).
func Classify(status int, code string) Kind {
	switch strings.ToLower(code) {
	case "syncstatenotfound", "resyncrequired", "syncstateinvalid":
		return KindSyncStateGone
	case "mailboxnotenabledforrestapi", "mailboxnotsupportedforrestapi", "extensionerror",
		// The user behind the mailbox was deleted or renamed since it was resolved.
		"errorinvaliduser":
		return KindMailboxNotEnabled
	case "erroritemnotfound", "itemnotfound", "request_resourcenotfound", "resourcenotfound":
		return KindNotFound
	case "errorquotaexceeded", "quotalimitreached":
		return KindQuotaExceeded
	case "errorinvalididmalformed":
		return KindMalformedID
	case "applicationthrottled", "mailboxconcurrency", "errortoomanyobjectsopened", "activitylimitreached", "toomanyrequests":
		return KindThrottled
	case "invalidauthenticationtoken", "unauthenticated":
		return KindTokenExpired
	case "erroraccessdenied", "accessdenied", "authorization_requestdenied":
		return KindAccessDenied
	}
	switch {
	case status == 429:
		return KindThrottled
	case status == 401:
		return KindTokenExpired
	case status == 403:
		return KindAccessDenied
	case status == 404:
		return KindNotFound
	case status == 410:
		return KindSyncStateGone
	case status == 500 || status == 502 || status == 503 || status == 504:
		return KindTransient
	}
	return KindOther
}

// Retryable reports whether a request that failed with this kind may be
// sent again as it is.
func (k Kind) Retryable() bool {
	return k == KindThrottled || k == KindTransient
}
