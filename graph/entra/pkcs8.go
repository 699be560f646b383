package entra

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"
)

var (
	oidPBES2      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACSHA1   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACSHA384 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 10}
	oidHMACSHA512 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	oidAES128CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidScrypt     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11591, 4, 11}
)

type algorithmIdentifier struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

type encryptedPrivateKeyInfo struct {
	Algorithm     algorithmIdentifier
	EncryptedData []byte
}

type pbes2Params struct {
	KeyDerivationFunc algorithmIdentifier
	EncryptionScheme  algorithmIdentifier
}

type pbkdf2Params struct {
	Salt           []byte
	IterationCount int
	KeyLength      int                 `asn1:"optional"`
	PRF            algorithmIdentifier `asn1:"optional"`
}

// convertHint is how to turn a key into a format collect reads.
const convertHint = "convert the key with: openssl pkcs8 -topk8 -v2 aes-256-cbc -in key.pem -out key-pkcs8.pem " +
	"(or store it unencrypted with 0600 permissions)"

// decryptPKCS8 decrypts an encrypted PKCS#8 private key (RFC 8018 PBES2
// with PBKDF2 and AES-CBC, what OpenSSL 1.1 and later write by default).
// Go's standard library has no PKCS#8 decryption, so this is the part of
// the format collect implements; other schemes (scrypt, the PKCS#12 PBES1
// ciphers) are refused by name.
func decryptPKCS8(der, password []byte) ([]byte, error) {
	var info encryptedPrivateKeyInfo
	if _, err := asn1.Unmarshal(der, &info); err != nil {
		return nil, fmt.Errorf("the encrypted private key cannot be read: %v", err)
	}
	if !info.Algorithm.Algorithm.Equal(oidPBES2) {
		return nil, fmt.Errorf("the private key is encrypted with scheme %s, which collect cannot decrypt (it reads PBES2 with "+
			"PBKDF2 and AES-CBC): %s", info.Algorithm.Algorithm, convertHint)
	}
	var p2 pbes2Params
	if _, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &p2); err != nil {
		return nil, fmt.Errorf("the encrypted private key's PBES2 parameters cannot be read: %v", err)
	}
	if p2.KeyDerivationFunc.Algorithm.Equal(oidScrypt) {
		return nil, errors.New("the private key is encrypted with an scrypt-derived key, which collect cannot decrypt: " + convertHint)
	}
	if !p2.KeyDerivationFunc.Algorithm.Equal(oidPBKDF2) {
		return nil, fmt.Errorf("the private key's key derivation %s is not PBKDF2, which collect cannot decrypt: %s",
			p2.KeyDerivationFunc.Algorithm, convertHint)
	}
	var kdf pbkdf2Params
	if _, err := asn1.Unmarshal(p2.KeyDerivationFunc.Parameters.FullBytes, &kdf); err != nil {
		return nil, fmt.Errorf("the encrypted private key's PBKDF2 parameters cannot be read: %v", err)
	}
	var prf func() hash.Hash
	switch alg := kdf.PRF.Algorithm; {
	case len(alg) == 0 || alg.Equal(oidHMACSHA1):
		prf = sha1.New
	case alg.Equal(oidHMACSHA256):
		prf = sha256.New
	case alg.Equal(oidHMACSHA384):
		prf = sha512.New384
	case alg.Equal(oidHMACSHA512):
		prf = sha512.New
	default:
		return nil, fmt.Errorf("the private key's PBKDF2 uses PRF %s, which collect cannot decrypt: %s", alg, convertHint)
	}
	var keyLen int
	switch alg := p2.EncryptionScheme.Algorithm; {
	case alg.Equal(oidAES128CBC):
		keyLen = 16
	case alg.Equal(oidAES192CBC):
		keyLen = 24
	case alg.Equal(oidAES256CBC):
		keyLen = 32
	default:
		return nil, fmt.Errorf("the private key is encrypted with cipher %s, which collect cannot decrypt (it reads AES-CBC): %s", alg, convertHint)
	}
	var iv []byte
	if _, err := asn1.Unmarshal(p2.EncryptionScheme.Parameters.FullBytes, &iv); err != nil || len(iv) != aes.BlockSize {
		return nil, errors.New("the encrypted private key's AES initialization vector cannot be read")
	}
	if kdf.IterationCount < 1 || kdf.IterationCount > 10_000_000 {
		return nil, fmt.Errorf("the encrypted private key asks for %d PBKDF2 iterations, which is not a sane count", kdf.IterationCount)
	}
	key, err := pbkdf2.Key(prf, string(password), kdf.Salt, kdf.IterationCount, keyLen)
	if err != nil {
		return nil, fmt.Errorf("derive the key that decrypts the private key: %v", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	data := info.EncryptedData
	if len(data) == 0 || len(data)%aes.BlockSize != 0 {
		return nil, errors.New("the encrypted private key is truncated")
	}
	out := make([]byte, len(data))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, data)
	pad := int(out[len(out)-1])
	wrong := errors.New("the private key could not be decrypted: COLLECT_CERTIFICATE_PASSWORD is not its password")
	if pad < 1 || pad > aes.BlockSize {
		return nil, wrong
	}
	for _, b := range out[len(out)-pad:] {
		if int(b) != pad {
			return nil, wrong
		}
	}
	return out[:len(out)-pad], nil
}
