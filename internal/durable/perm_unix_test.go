//go:build unix

package durable

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestPermissionsAreExactWhateverTheUmask(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	for _, perm := range []fs.FileMode{0o600, 0o640, 0o644} {
		path := filepath.Join(t.TempDir(), "f")
		if err := WriteFile(path, []byte("x"), perm); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != perm {
			t.Errorf("mode %v, want %v", fi.Mode().Perm(), perm)
		}
	}
}
