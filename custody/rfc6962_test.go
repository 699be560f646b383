package custody_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/collect-ediscovery/collect/custody"
	"github.com/collect-ediscovery/collect/store"
)

// The verifier below is written from RFC 6962 section 2.1 and the
// signed-note format alone, with the standard library: it calls neither
// collect's code nor tlog's, so that it checks their trees rather than
// repeat them.

// mth is the Merkle Tree Hash of RFC 6962: SHA-256(0x00 || d) for one
// entry, SHA-256(0x01 || MTH(left) || MTH(right)) where left holds the
// largest power of two smaller than n entries.
func mth(entries [][]byte) [32]byte {
	switch n := len(entries); n {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return sha256.Sum256(append([]byte{0}, entries[0]...))
	default:
		k := 1
		for k*2 < n {
			k *= 2
		}
		l, r := mth(entries[:k]), mth(entries[k:])
		return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
	}
}

// independentCheck reads the output folder's manifest and one checkpoint
// file and says whether the checkpoint's root is the tree of the
// manifest's first lines, and whether its signature is by verifierKey.
func independentCheck(t *testing.T, dir, checkpointFile, verifierKey string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var lines [][]byte
	for len(raw) > 0 {
		i := bytes.IndexByte(raw, '\n')
		lines, raw = append(lines, raw[:i+1]), raw[i+1:]
	}
	msg, err := os.ReadFile(filepath.Join(dir, "custody", checkpointFile))
	if err != nil {
		t.Fatal(err)
	}
	body, sigs, _ := strings.Cut(string(msg), "\n\n")
	body += "\n"
	parts := strings.Split(body, "\n")
	size, err := strconv.Atoi(parts[1])
	if err != nil || size > len(lines) {
		t.Fatalf("checkpoint size %q for %d lines", parts[1], len(lines))
	}
	root, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	if want := mth(lines[:size]); !bytes.Equal(root, want[:]) {
		t.Errorf("%s: root %x, but RFC 6962 gives %x for the first %d lines", checkpointFile, root, want, size)
	}

	// The verifier key: name+hash+base64(0x01 || ed25519 public key).
	vparts := strings.SplitN(verifierKey, "+", 3)
	vkey, _ := base64.StdEncoding.DecodeString(vparts[2])
	if len(vkey) != 33 || vkey[0] != 1 {
		t.Fatalf("verifier key %q", verifierKey)
	}
	// A signature line: "— name base64(4-byte key hash || signature)".
	line := strings.TrimSuffix(sigs, "\n")
	rest, ok := strings.CutPrefix(line, "— "+vparts[0]+" ")
	if !ok {
		t.Fatalf("%s: no signature by %s: %q", checkpointFile, vparts[0], line)
	}
	sig, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || len(sig) != 4+ed25519.SignatureSize {
		t.Fatalf("%s: signature %q", checkpointFile, rest)
	}
	hash := sha256.Sum256(append([]byte(vparts[0]+"\n"), vkey...))
	if binary.BigEndian.Uint32(sig[:4]) != binary.BigEndian.Uint32(hash[:4]) {
		t.Errorf("%s: the signature's key hash is not the verifier key's", checkpointFile)
	}
	if !ed25519.Verify(ed25519.PublicKey(vkey[1:]), []byte(body), sig[4:]) {
		t.Errorf("%s: the ed25519 signature does not verify over the body", checkpointFile)
	}
}

// TestIndependentVerifierAcceptsTheTree collects in appends of uneven
// sizes (so that the tree is rarely a power of two), checkpoints after
// each, and has the independent verifier check every checkpoint.
func TestIndependentVerifierAcceptsTheTree(t *testing.T) {
	signer, verifier := testKey(t)
	c := newCollection(t)
	defer c.close()
	var files []string
	n := 0
	for run, add := range []int{1, 2, 4, 6, 13, 1, 37} {
		c.add(n, n+add)
		n += add
		cp, err := custody.Signing{Origin: "collect/test", Signer: signer}.Checkpoint(c.log, "run"+strconv.Itoa(run))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, cp.File)
	}
	for _, f := range files {
		independentCheck(t, c.dir, f, verifier)
	}
	// A changed byte anywhere in the manifest changes the root the
	// independent verifier computes: the check is not vacuous.
	lines := readLines(t, c.dir)
	before := mth(lines)
	lines[40] = bytes.Replace(lines[40], []byte("Message"), []byte("message"), 1)
	if mth(lines) == before {
		t.Error("the independent tree hash does not depend on the lines")
	}
}

func readLines(t *testing.T, dir string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, store.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(b, []byte("\n"))
	return lines[:len(lines)-1] // the empty piece after the last newline
}

// testKey makes a signing key named collect/test and its verifier key.
func testKey(t *testing.T) (note.Signer, string) {
	t.Helper()
	private, verifier, err := custody.GenerateKey("collect/test")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := custody.NewSigner(private)
	if err != nil {
		t.Fatal(err)
	}
	return signer, verifier
}
