package graph

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kind is the closed list of things that can go wrong talking to Graph.
// Callers switch on the kind, never on messages.
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
)

var kindNames = [...]string{
	KindOther:             "other",
	KindThrottled:         "throttled",
	KindTransient:         "transient",
	KindTokenExpired:      "token expired",
	KindAccessDenied:      "access denied",
	KindMailboxNotEnabled: "mailbox not enabled",
	KindNotFound:          "not found",
	KindSyncStateGone:     "sync state gone",
	KindQuotaExceeded:     "quota exceeded",
	KindMalformedID:       "malformed ID",
	KindCanceled:          "canceled",
}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
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
