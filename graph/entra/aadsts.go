package entra

import (
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/collect-ediscovery/collect/graph"
	"golang.org/x/oauth2"
)

// signInKinds classifies the AADSTS codes of the token endpoint by what
// fixes them; a code not listed is graph.KindSignInRefused.
var signInKinds = map[int]graph.Kind{
	65001: graph.KindConsentRequired, 90094: graph.KindConsentRequired, 90095: graph.KindConsentRequired,
	700016:  graph.KindAppNotInTenant,
	90002:   graph.KindTenantNotFound,
	7000215: graph.KindSecretRefused,
	7000222: graph.KindSecretExpired,
	7000218: graph.KindPublicClientDisabled,
	50020:   graph.KindForeignAccount,
	700024:  graph.KindAssertionExpired,
	700027:  graph.KindCertificateRefused, 700023: graph.KindCertificateRefused,
	70021: graph.KindNoFederatedCredential, 700211: graph.KindNoFederatedCredential,
	700212: graph.KindNoFederatedCredential, 700213: graph.KindNoFederatedCredential,
	50173: graph.KindLoginRequired, 700082: graph.KindLoginRequired, 70043: graph.KindLoginRequired,
	50133: graph.KindLoginRequired, 70008: graph.KindLoginRequired,
	70000: graph.KindDeviceCodeDeclined,
	70020: graph.KindDeviceCodeExpired,
	50076: graph.KindMFARequired, 50079: graph.KindMFARequired, 50158: graph.KindMFARequired,
	53003: graph.KindConditionalAccess,
}

// oauthKinds classifies the RFC 6749 and RFC 8628 error codes that come
// without an AADSTS code collect knows.
var oauthKinds = map[string]graph.Kind{
	"expired_token":          graph.KindDeviceCodeExpired,
	"code_expired":           graph.KindDeviceCodeExpired,
	"authorization_declined": graph.KindDeviceCodeDeclined,
	"access_denied":          graph.KindDeviceCodeDeclined,
}

// KnownCodes are the AADSTS codes whose kind is not KindSignInRefused,
// in ascending order.
func KnownCodes() []int {
	return slices.Sorted(maps.Keys(signInKinds))
}

var aadstsCode = regexp.MustCompile(`AADSTS(\d+)`)

// localError is a sign-in failure found before Entra ID was asked (the
// cached sign-in, the CI token file): the *graph.Error it carries, or one
// of graph.KindOther.
func localError(err error) *graph.Error {
	var ge *graph.Error
	if errors.As(err, &ge) {
		return ge
	}
	return &graph.Error{Op: "get token", Kind: graph.KindOther, Message: err.Error()}
}

// tokenError turns a token endpoint failure into a *graph.Error that keeps
// what support needs (the AADSTS code, the trace ID) and Entra's own
// description, classified by kind, and scrubs the secrets from anything it
// carries.
func tokenError(err error, secrets ...string) *graph.Error {
	scrub := func(s string) string {
		for _, secret := range secrets {
			if secret != "" {
				s = strings.ReplaceAll(s, secret, "[secret]")
			}
		}
		return s
	}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		kind := graph.TransportErrorKind(err)
		if kind == graph.KindOther {
			kind = graph.KindTransient
		}
		return &graph.Error{Op: "get token", Kind: kind, Message: scrub(err.Error())}
	}
	e := &graph.Error{Op: "get token", Kind: graph.KindSignInRefused}
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		ErrorCodes  []int  `json:"error_codes"`
		TraceID     string `json:"trace_id"`
	}
	_ = json.Unmarshal(re.Body, &body)
	desc := re.ErrorDescription
	if desc == "" {
		desc = body.Description
	}
	number := 0
	if len(body.ErrorCodes) > 0 {
		number = body.ErrorCodes[0]
	} else if m := aadstsCode.FindStringSubmatch(desc); m != nil {
		number, _ = strconv.Atoi(m[1])
	}
	if number != 0 {
		e.Code = "AADSTS" + strconv.Itoa(number)
	} else {
		e.Code = re.ErrorCode
	}
	if k, ok := signInKinds[number]; ok {
		e.Kind = k
	} else if k, ok := oauthKinds[re.ErrorCode]; ok {
		e.Kind = k
	}
	if re.Response != nil {
		e.Status = re.Response.StatusCode
		if ra, ok := graph.ParseRetryAfter(re.Response.Header.Get("Retry-After"), time.Now()); ok {
			e.RetryAfter = ra
		}
		switch {
		case e.Status == http.StatusTooManyRequests:
			e.Kind = graph.KindThrottled
		case e.Status >= 500:
			e.Kind = graph.KindTransient
		}
	}
	e.RequestID = body.TraceID
	// Entra appends trace, correlation and timestamp lines to the
	// description and starts it with the code; the rest of the first
	// line is the part a person reads.
	if i := strings.IndexAny(desc, "\r\n"); i >= 0 {
		desc = desc[:i]
	}
	if e.Code != "" {
		desc = strings.TrimPrefix(desc, e.Code+":")
	}
	desc = strings.TrimSpace(desc)
	if desc == "" {
		desc = re.ErrorCode
	}
	if desc == "" && re.Response != nil {
		desc = re.Response.Status
	}
	e.Message = scrub(desc)
	return e
}
