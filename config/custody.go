package config

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Custody is the matter's custody block: the public key that the
// checkpoints of its custody log are signed with.
type Custody struct {
	// Verifier is the verifier key printed by collect custody keygen,
	// "name+hash+key"; empty when the matter names none.
	Verifier  string
	DeclRange hcl.Range // zero when the matter has no custody block
}

var custodySchema = &blockSchema{
	attrs:     map[string]bool{"verifier": true, "description": false},
	singleton: true,
}

func (l *loader) custody(m *Matter, bs []*block) {
	if len(bs) == 0 {
		return
	}
	b := bs[0]
	m.Custody.DeclRange = b.syn.DefRange()
	a := b.attrs["verifier"]
	if a == nil {
		return // checkBody reported the missing argument
	}
	v, ok := l.str(a, "verifier")
	if !ok {
		return
	}
	if strings.HasPrefix(strings.TrimSpace(v), "PRIVATE+KEY+") {
		d := secretDiag("argument", "verifier", a.SrcRange, a.Expr.Range().Ptr())
		d.Detail = "The verifier is the private custody key, which signs checkpoints: anyone who reads it can sign a forged " +
			"checkpoint. Put only the public verifier key that collect custody keygen printed here, and give collect the private key " +
			"through COLLECT_CUSTODY_KEY_FILE or COLLECT_CUSTODY_KEY."
		l.add(hcl.Diagnostics{d})
		return
	}
	if err := checkVerifierKey(v); err != nil {
		l.errorf(a.Expr.Range().Ptr(), "Invalid verifier key",
			"%s. Use the verifier key that collect custody keygen printed, such as \"collect/acme-v-globex+1a2b3c4d+AZ...\".", err)
		return
	}
	m.Custody.Verifier = v
}

// checkVerifierKey checks a signed-note verifier key of an ed25519 key:
// name+hash+base64(0x01 || public key), the hash being the first four
// bytes of SHA-256(name "\n" 0x01 || public key).
func checkVerifierKey(v string) error {
	name, rest, ok1 := strings.Cut(v, "+")
	hash, key64, ok2 := strings.Cut(rest, "+")
	if !ok1 || !ok2 || name == "" || strings.ContainsAny(name, " \t\n") {
		return fmt.Errorf("%q is not of the form name+hash+key", v)
	}
	h, err := hex.DecodeString(hash)
	if err != nil || len(h) != 4 {
		return fmt.Errorf("the hash %q of the verifier key is not 8 hex digits", hash)
	}
	key, err := base64.StdEncoding.DecodeString(key64)
	if err != nil || len(key) != 33 || key[0] != 1 {
		return fmt.Errorf("the verifier key does not hold an ed25519 public key")
	}
	sum := sha256.Sum256(append([]byte(name+"\n"), key...))
	if binary.BigEndian.Uint32(sum[:4]) != binary.BigEndian.Uint32(h) {
		return fmt.Errorf("the hash %s does not match the key: the verifier key was mistyped or cut", hash)
	}
	return nil
}
