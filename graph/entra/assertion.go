package entra

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/collect-ediscovery/collect/graph"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Certificate is an app registration's certificate with its private key,
// for signing client assertions.
type Certificate struct {
	cert *x509.Certificate
	key  *rsa.PrivateKey
}

// Thumbprint is the SHA-1 thumbprint in upper-case hex, as the Entra admin
// center shows it under Certificates & secrets.
func (c *Certificate) Thumbprint() string {
	sum := sha1.Sum(c.cert.Raw)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// NotAfter is when the certificate expires.
func (c *Certificate) NotAfter() time.Time { return c.cert.NotAfter }

// LoadCertificate reads a PEM file holding the certificate and its RSA
// private key (PKCS#1 or PKCS#8; an encrypted PKCS#8 key is decrypted
// with password, see decryptPKCS8). The key must belong to the certificate.
func LoadCertificate(pemData []byte, password string) (*Certificate, error) {
	var certs []*x509.Certificate
	var key any
	var keyErr error
	rest := pemData
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if key != nil && b.Type != "CERTIFICATE" {
			continue
		}
		switch b.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("the certificate in the PEM file cannot be read: %v", err)
			}
			certs = append(certs, c)
		case "RSA PRIVATE KEY":
			if _, ok := b.Headers["DEK-Info"]; ok {
				keyErr = errors.New("the private key is encrypted in the legacy OpenSSL PEM format, which collect does not " +
					"decrypt (it has no integrity check): convert it to encrypted PKCS#8 with " +
					"openssl pkcs8 -topk8 -v2 aes-256-cbc -in key.pem -out key-pkcs8.pem")
				continue
			}
			k, err := x509.ParsePKCS1PrivateKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("the RSA private key in the PEM file cannot be read: %v", err)
			}
			key = k
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("the private key in the PEM file cannot be read: %v", err)
			}
			key = k
		case "ENCRYPTED PRIVATE KEY":
			if password == "" {
				keyErr = errors.New("the private key is encrypted: put its password in the environment variable COLLECT_CERTIFICATE_PASSWORD")
				continue
			}
			der, err := decryptPKCS8(b.Bytes, []byte(password))
			if err != nil {
				keyErr = err
				continue
			}
			k, err := x509.ParsePKCS8PrivateKey(der)
			if err != nil {
				return nil, errors.New("the private key could not be decrypted: COLLECT_CERTIFICATE_PASSWORD is not its password")
			}
			key = k
		case "EC PRIVATE KEY":
			return nil, errors.New("the key is an EC key: Entra ID client assertions are signed with RSA (RS256); create an RSA certificate")
		}
	}
	if key == nil {
		if keyErr != nil {
			return nil, keyErr
		}
		return nil, errors.New("the PEM file holds no private key: certificate_path must name one PEM file with the certificate " +
			"and its private key (cat cert.pem key.pem > collect.pem)")
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("the private key is a %T: Entra ID client assertions are signed with RSA (RS256); create an RSA certificate", key)
	}
	if len(certs) == 0 {
		return nil, errors.New("the PEM file holds a private key but no certificate: add the certificate (cat cert.pem key.pem > collect.pem)")
	}
	for _, c := range certs {
		if pub, ok := c.PublicKey.(*rsa.PublicKey); ok && pub.Equal(&rk.PublicKey) {
			return &Certificate{cert: c, key: rk}, nil
		}
	}
	return nil, errors.New("the private key does not belong to the certificate in the PEM file")
}

// assertionLifetime is how long a client assertion is valid.
const assertionLifetime = 10 * time.Minute

// signAssertion makes the RS256 client assertion Entra ID expects for a
// certificate credential: aud the token endpoint, iss and sub the client
// ID, a unique jti, and the certificate's thumbprints in the header.
func (c *Certificate) signAssertion(a Authority, now time.Time) (string, error) {
	s1 := sha1.Sum(c.cert.Raw)
	s256 := sha256.Sum256(c.cert.Raw)
	header := map[string]string{
		"alg":      "RS256",
		"typ":      "JWT",
		"x5t":      base64.RawURLEncoding.EncodeToString(s1[:]),
		"x5t#S256": base64.RawURLEncoding.EncodeToString(s256[:]),
	}
	claims := map[string]any{
		"aud": a.TokenURL(),
		"iss": a.ClientID,
		"sub": a.ClientID,
		"jti": rand.Text(),
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(assertionLifetime).Unix(),
	}
	hb, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	cb, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signing := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	digest := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, c.key, crypto.SHA256, digest[:])
	if err != nil {
		return "", fmt.Errorf("sign the client assertion: %v", err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// ClientCertificate returns a token source for an app registration that
// authenticates with a certificate: each token request carries a newly
// signed client assertion.
func ClientCertificate(a Authority, c *Certificate) (oauth2.TokenSource, error) {
	a, err := a.check()
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, errors.New("a certificate is required")
	}
	return &assertionTokens{a: a, assert: func() (string, error) {
		return c.signAssertion(a, a.Clock.Now())
	}}, nil
}

// FederatedToken returns a token source for workload identity federation:
// the client assertion is a token from another identity provider (GitHub
// Actions OIDC, Azure Pipelines, Kubernetes) read from tokenFile. The file
// is read again for every token request, because CI runners replace
// short-lived tokens while a job runs.
func FederatedToken(a Authority, tokenFile string) (oauth2.TokenSource, error) {
	a, err := a.check()
	if err != nil {
		return nil, err
	}
	if tokenFile == "" {
		return nil, errors.New("auth = \"federated_token\" needs the environment variable COLLECT_FEDERATED_TOKEN_FILE naming the file that holds the CI's OIDC token")
	}
	f := &federatedFile{path: tokenFile}
	return &assertionTokens{a: a, assert: f.read}, nil
}

type federatedFile struct{ path string }

// read reads the file on every token request: a CI runner may have
// replaced the token since the last one. Its errors are
// graph.KindFederatedTokenFile.
func (f *federatedFile) read() (string, error) {
	fail := func(format string, args ...any) (string, error) {
		return "", &graph.Error{Op: "read the federated token", Kind: graph.KindFederatedTokenFile, Message: fmt.Sprintf(format, args...)}
	}
	b, err := os.ReadFile(f.path)
	if err != nil {
		return fail("cannot read the federated token file named by COLLECT_FEDERATED_TOKEN_FILE: %v", err)
	}
	tok := string(bytes.TrimSpace(b))
	if tok == "" {
		return fail("the federated token file %s is empty", f.path)
	}
	if strings.Count(tok, ".") != 2 {
		return fail("the federated token file %s does not hold a JWT", f.path)
	}
	return tok, nil
}

// assertionTokens gets app-only tokens with a client assertion (a signed
// certificate assertion or a federated token) made fresh for each request.
type assertionTokens struct {
	a      Authority
	assert func() (string, error)
}

const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

func (s *assertionTokens) Token() (*oauth2.Token, error) {
	assertion, err := s.assert()
	if err != nil {
		return nil, localError(err)
	}
	cfg := &clientcredentials.Config{
		ClientID:  s.a.ClientID,
		TokenURL:  s.a.TokenURL(),
		Scopes:    []string{s.a.AppScope()},
		AuthStyle: oauth2.AuthStyleInParams,
		EndpointParams: url.Values{
			"client_assertion_type": {jwtBearer},
			"client_assertion":      {assertion},
		},
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, s.a.HTTPClient)
	tok, err := cfg.Token(ctx)
	if err != nil {
		return nil, tokenError(err, assertion)
	}
	return tok, nil
}
