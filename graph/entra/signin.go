package entra

import (
	"errors"
	"fmt"
	"strings"

	"github.com/collect-ediscovery/collect/graph"
	"golang.org/x/oauth2"
)

// primed hands out a token already obtained once, then asks its source.
type primed struct {
	first *oauth2.Token
	src   oauth2.TokenSource
	used  bool
}

func (p *primed) Token() (*oauth2.Token, error) {
	// The client's token cache calls Token under its own lock.
	if !p.used {
		p.used = true
		return p.first, nil
	}
	return p.src.Token()
}

// SignIn gets a first token from src, so that a sign-in problem is
// reported before any mailbox is touched. It returns what the token says
// (read from its claims, not verified) and a source for the Client that
// hands that token out first. Token must not be called concurrently on
// the returned source (the Client's cache serializes its calls).
func SignIn(src oauth2.TokenSource) (oauth2.TokenSource, TokenInfo, error) {
	tok, err := src.Token()
	if err != nil {
		return nil, TokenInfo{}, err
	}
	info, err := InspectToken(tok.AccessToken)
	if err != nil {
		// Graph's tokens are JWTs; one that is not is still usable, only
		// not described.
		info = TokenInfo{}
	}
	return &primed{first: tok, src: src}, info, nil
}

// signInError turns a token endpoint failure into a *graph.Error whose
// message is one sentence saying what to do; the code and trace ID are
// kept, and no secret, assertion or token appears.
func (a Authority) signInError(err error, secrets ...string) error {
	e := tokenError(err, secrets...)
	var ge *graph.Error
	if !errors.As(e, &ge) {
		return e
	}
	if fix := a.explain(ge.Code, ge.Message); fix != "" {
		ge.Message = fix
	} else if ge.Message != "" && ge.Code != "" && strings.HasPrefix(ge.Code, "AADSTS") {
		ge.Message = fmt.Sprintf("sign-in failed: %s", strings.TrimPrefix(strings.TrimPrefix(ge.Message, ge.Code+":"), " "))
	}
	return ge
}
