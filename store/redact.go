package store

import "regexp"

// secretPattern finds credentials that could ride along in an error text from
// an HTTP layer: JSON Web Tokens, "Bearer x" values and form or query fields
// that carry secrets. Run records are shared with reviewers and opposing
// counsel, so a token must never reach one (architecture invariant 7).
var secretPattern = regexp.MustCompile(
	`eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*` +
		`|(?i:bearer)\s+[A-Za-z0-9._~+/=-]{8,}` +
		`|((?i:client_secret|client_assertion|access_token|refresh_token|id_token|password|code_verifier|device_code)=)[^&\s"']+`)

// redactSecrets replaces every credential-looking part of s, keeping the
// name of a form field so the text still says what failed.
func redactSecrets(s string) string {
	return secretPattern.ReplaceAllString(s, "${1}[REDACTED]")
}
