// Package entra signs collect in to Microsoft Entra ID: the device code
// flow for a person, a client secret, a certificate assertion (with
// encrypted PKCS#8 keys) or a federated CI token for an app, the on-disk
// cache of delegated sign-ins, and what an access token says about itself.
//
// It builds on golang.org/x/oauth2, the standard library and
// internal/durable (for the sign-in cache) only: the Graph SDK is never
// linked here, which internal/layout tests. Every token endpoint failure
// is a *graph.Error carrying the AADSTS code and the trace ID, never a
// secret, assertion or token.
package entra
