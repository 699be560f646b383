package azure

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
)

// opError is the error of one operation on the store: what was done to
// which object, the service's answer in one line and what to do about it.
// The SDK's own error (a multi-line dump of the request and response) is
// kept underneath for errors.As, not printed.
type opError struct {
	store string // the store's String
	op    string // "write", "read", "list", "lock", ...
	name  string // the object, relative to the prefix; "" for the container
	kind  error  // a backend error value when the answer is one, else nil
	auth  string // what to check when the service refuses the sign-in
	err   error
}

func (e *opError) Error() string {
	what := e.op
	if e.name != "" {
		what += " " + e.name
	}
	msg := fmt.Sprintf("%s: %s: %s", e.store, what, summary(e.err))
	if hint := advice(e.err, e.auth); hint != "" {
		msg += "; " + hint
	}
	return msg
}

func (e *opError) Unwrap() []error {
	if e.kind != nil {
		return []error{e.kind, e.err}
	}
	return []error{e.err}
}

// summary says in one line what the service answered: its status and
// error code, or the error itself when no answer came.
func summary(err error) string {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		if re.ErrorCode != "" {
			return fmt.Sprintf("the storage service answered %d %s", re.StatusCode, re.ErrorCode)
		}
		return fmt.Sprintf("the storage service answered %d %s", re.StatusCode, http.StatusText(re.StatusCode))
	}
	return err.Error()
}

// advice is what the user can do about an answer, when there is something;
// auth is what to check when the sign-in was refused.
func advice(err error, auth string) string {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return ""
	}
	switch {
	case bloberror.HasCode(err, bloberror.ContainerNotFound):
		return "create the container first (az storage container create --account-name ACCOUNT --name CONTAINER --auth-mode login)"
	case re.StatusCode == http.StatusForbidden, bloberror.HasCode(err, bloberror.AuthenticationFailed, bloberror.InvalidAuthenticationInfo):
		return auth
	case re.StatusCode == http.StatusServiceUnavailable, re.StatusCode == http.StatusInternalServerError:
		return "the service is busy or failing: run again later"
	}
	return ""
}
