package custody

import (
	"crypto/rand"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// GenerateKey makes a new ed25519 signing key named name: the private key,
// to keep secret, and the public verifier key, for the matter.
func GenerateKey(name string) (private, verifier string, err error) {
	if err := checkKeyName(name); err != nil {
		return "", "", err
	}
	return note.GenerateKey(rand.Reader, name)
}

func checkKeyName(name string) error {
	if name == "" || strings.ContainsAny(name, "+ \t\n") {
		return fmt.Errorf("the key name %q cannot name a signature: use letters, digits and punctuation other than +, without spaces, such as \"collect/acme-v-globex\"", name)
	}
	return nil
}

// NewSigner reads a private key as GenerateKey writes it. The error never
// repeats the key.
func NewSigner(private string) (note.Signer, error) {
	s, err := note.NewSigner(strings.TrimSpace(private))
	if err != nil {
		return nil, fmt.Errorf("the custody key is not a private key made by collect custody keygen (it starts with PRIVATE+KEY+)")
	}
	return s, nil
}

// NewVerifier reads a public verifier key, "name+hash+key".
func NewVerifier(verifier string) (note.Verifier, error) {
	v, err := note.NewVerifier(strings.TrimSpace(verifier))
	if err != nil {
		return nil, fmt.Errorf("%q is not a verifier key made by collect custody keygen (name+hash+key): %v", verifier, err)
	}
	return v, nil
}

// Matches reports whether signer's signatures verify with verifier.
func Matches(signer note.Signer, verifier note.Verifier) bool {
	if signer.Name() != verifier.Name() || signer.KeyHash() != verifier.KeyHash() {
		return false
	}
	msg := []byte("collect custody key check\n")
	sig, err := signer.Sign(msg)
	return err == nil && verifier.Verify(msg, sig)
}

// Signing says how an apply signs its checkpoint: under the matter's
// origin, with Signer (nil: the checkpoint is written unsigned).
type Signing struct {
	Origin string
	Signer note.Signer
}

// Checkpoint writes the checkpoint of log for the run runID. An empty
// origin is "collect".
func (s Signing) Checkpoint(log *Log, runID string) (*Checkpoint, error) {
	origin := s.Origin
	if origin == "" {
		origin = "collect"
	}
	return log.Checkpoint(origin, s.Signer, runID)
}
