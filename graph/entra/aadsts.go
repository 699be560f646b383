package entra

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/collect-ediscovery/collect/graph"
	"golang.org/x/oauth2"
)

// explain gives the one sentence a person needs for a token endpoint
// error code: what happened and what to do. "" means no specific advice;
// the caller keeps Entra's own description.
func (a Authority) explain(code, desc string) string {
	app := fmt.Sprintf("app %s", a.ClientID)
	switch code {
	case "AADSTS65001":
		return fmt.Sprintf("%s has not been granted the permissions collect needs in tenant %s: a Global Administrator or "+
			"Privileged Role Administrator must grant admin consent at %s", app, a.Tenant, a.AdminConsentURL())
	case "AADSTS90094", "AADSTS90095":
		return fmt.Sprintf("the permissions of %s need an administrator's approval in tenant %s: ask a Global Administrator "+
			"or Privileged Role Administrator to grant admin consent at %s, then sign in again", app, a.Tenant, a.AdminConsentURL())
	case "AADSTS700016":
		return fmt.Sprintf("no %s exists in tenant %s: check client_id and tenant_id in the tenant block, that the app "+
			"registration was made in this tenant, and that cloud names the right Microsoft cloud", app, a.Tenant)
	case "AADSTS7000215":
		return fmt.Sprintf("the client secret was refused: COLLECT_CLIENT_SECRET must hold the Value (not the Secret ID) of a "+
			"current client secret of %s; create a new one under Certificates & secrets if it was deleted", app)
	case "AADSTS7000222":
		return fmt.Sprintf("the client secret of %s has expired: create a new one under Certificates & secrets and put its "+
			"Value in COLLECT_CLIENT_SECRET", app)
	case "AADSTS7000218":
		return fmt.Sprintf("%s does not allow sign-in without a secret: for auth = \"device_code\", turn on \"Allow public "+
			"client flows\" on the app registration's Authentication page", app)
	case "AADSTS50020":
		return fmt.Sprintf("the account you signed in with belongs to another tenant and is not a guest in tenant %s: run "+
			"collect login again and sign in with an account of %s (or fix tenant_id)", a.Tenant, a.Tenant)
	case "AADSTS700024":
		return "the client assertion has expired or is not yet valid: for auth = \"federated_token\" the file named by " +
			"COLLECT_FEDERATED_TOKEN_FILE must hold a fresh token from the CI's identity provider (they last minutes: " +
			"fetch a new one shortly before collect runs); for a certificate, check this machine's clock"
	case "AADSTS700027":
		return fmt.Sprintf("the certificate assertion was refused: upload the public certificate of certificate_path to %s "+
			"under Certificates & secrets, and check that the key in the file belongs to that certificate", app)
	case "AADSTS700023":
		return fmt.Sprintf("the certificate assertion was refused: its audience is not this tenant's token endpoint %s",
			a.TokenURL())
	case "AADSTS70021", "AADSTS700211", "AADSTS700212", "AADSTS700213":
		return fmt.Sprintf("no federated credential of %s matches the token in COLLECT_FEDERATED_TOKEN_FILE: add one under "+
			"Certificates & secrets > Federated credentials with the issuer and subject of your CI (for GitHub Actions "+
			"https://token.actions.githubusercontent.com and repo:OWNER/REPO:environment:NAME) and the audience "+
			"api://AzureADTokenExchange", app)
	case "AADSTS50173", "AADSTS700082", "AADSTS70043", "AADSTS50133", "AADSTS70008":
		return "your sign-in has expired or was revoked (a password change, a revoked session or 90 days unused): run collect login"
	case "AADSTS70000":
		return "the sign-in was declined at the device code prompt, or its code was already used: run collect login again"
	case "AADSTS70020":
		return "the device code expired before the sign-in was finished: run collect login again and enter the code within its lifetime"
	case "AADSTS90002":
		return fmt.Sprintf("tenant %s does not exist in this cloud: check tenant_id and cloud in the tenant block", a.Tenant)
	case "AADSTS50076", "AADSTS50079", "AADSTS50158":
		return "the tenant's Conditional Access requires multi-factor authentication: run collect login and complete it in the browser"
	case "AADSTS53003":
		return "a Conditional Access policy of the tenant blocked the sign-in: ask the tenant's administrator to allow this " +
			"app, device or location"
	}
	return ""
}

var aadstsCode = regexp.MustCompile(`AADSTS\d+`)

// tokenError turns a token endpoint failure into a *graph.Error that keeps
// what support needs (AADSTS code, trace ID) and scrubs the secret from
// anything it carries.
func tokenError(err error, secrets ...string) error {
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
	e := &graph.Error{Op: "get token", Kind: graph.KindAccessDenied}
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
	if len(body.ErrorCodes) > 0 {
		e.Code = "AADSTS" + strconv.Itoa(body.ErrorCodes[0])
	} else if m := aadstsCode.FindString(desc); m != "" {
		e.Code = m
	} else {
		e.Code = re.ErrorCode
	}
	e.RequestID = body.TraceID
	// Entra appends trace, correlation and timestamp lines to the
	// description; the first line is the part a person reads.
	if i := strings.IndexAny(desc, "\r\n"); i >= 0 {
		desc = desc[:i]
	}
	if desc == "" {
		desc = re.ErrorCode
	}
	if desc == "" && re.Response != nil {
		desc = re.Response.Status
	}
	e.Message = scrub(strings.TrimSpace(desc))
	return e
}
