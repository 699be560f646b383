package main

import (
	"fmt"

	"github.com/collect-ediscovery/collect/config"
	"github.com/collect-ediscovery/collect/graph/entra"
)

// signInSubject says who signs in with the tenant block's auth mode, for
// a sentence such as "cannot sign in to tenant T as app A": the app itself
// with a secret, a certificate or a federated token, a person with a
// device code.
func signInSubject(t config.Tenant) string {
	if t.Auth == "device_code" {
		return fmt.Sprintf("as a person (the one collect login signs in), through app %s", t.ClientID)
	}
	return "as app " + t.ClientID
}

// signedInAs describes a sign-in that worked: the demo tenant, a person by
// the name in their token, or the app.
func signedInAs(t config.Tenant, info entra.TokenInfo, demo bool, tenant, clientID string) string {
	switch {
	case demo:
		return "signed in to the demo tenant, simulated inside collect (no Microsoft 365 account is used)"
	case info.Delegated && info.User != "":
		return fmt.Sprintf("signed in to tenant %s as %s (auth = %q)", tenant, info.User, t.Auth)
	case info.Delegated:
		return fmt.Sprintf("signed in to tenant %s as a person, through app %s (auth = %q)", tenant, clientID, t.Auth)
	}
	return fmt.Sprintf("signed in to tenant %s as app %s (auth = %q)", tenant, clientID, t.Auth)
}
