//go:build unix

package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/collect-ediscovery/collect/internal/record"
	"github.com/collect-ediscovery/collect/store"
)

func TestPermissions(t *testing.T) {
	for _, tc := range []struct {
		group                bool
		dir, native, runFile os.FileMode
	}{
		{false, 0o700, 0o400, 0o600},
		{true, 0o750, 0o440, 0o640},
	} {
		t.Run(fmt.Sprint("group=", tc.group), func(t *testing.T) {
			old := syscall.Umask(0)
			defer syscall.Umask(old)
			s, dir := openStore(t, store.Options{GroupRead: tc.group})
			n, err := writeNative(context.Background(), s, -1, streamOf([]byte("Subject: x\r\n\r\nbody\r\n")))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.WriteRun(record.Run{RunID: "r1"}); err != nil {
				t.Fatal(err)
			}
			for p, want := range map[string]os.FileMode{
				"": tc.dir, "natives": tc.dir, "runs": tc.dir, filepath.Dir(n.Path): tc.dir,
				n.Path: tc.native, "runs/r1.json": tc.runFile,
			} {
				fi, err := os.Stat(filepath.Join(dir, p))
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != want {
					t.Errorf("%q: mode %v, want %v", p, fi.Mode().Perm(), want)
				}
			}
		})
	}
}
