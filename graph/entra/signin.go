package entra

import (
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
