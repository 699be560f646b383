package main

import (
	"bytes"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"runtime"
)

// readCertificateFile reads the PEM file of certificate_path. A file that
// holds a private key which other users can read or change is refused, as
// a token cache is: whoever can read the key can sign in as the app. The
// mode is checked on the file that is read, not on its name.
func readCertificateFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the certificate file %s: %v", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot read the certificate file %s: %v", path, err)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("cannot read the certificate file %s: %v", path, err)
	}
	if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 && holdsPrivateKey(b) {
		return nil, fmt.Errorf("the certificate file %s holds a private key that other users can read or change (mode %04o), "+
			"so collect does not use it: restrict it to its owner with chmod 600 %s", path, perm, path)
	}
	return b, nil
}

// holdsPrivateKey reports whether a PEM file has a private key block, of
// any kind ("PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "RSA PRIVATE KEY").
func holdsPrivateKey(b []byte) bool {
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			// Text that is not PEM may still be a key: say so to be safe.
			return bytes.Contains(b, []byte("PRIVATE KEY"))
		}
		if bytes.HasSuffix([]byte(blk.Type), []byte("PRIVATE KEY")) {
			return true
		}
	}
}
