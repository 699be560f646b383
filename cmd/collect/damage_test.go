package main

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

// damageCmd damages a state file the ways a disk, a copy or a mistake do:
//
//	damage FILE truncate    cut it to half its size
//	damage FILE zero        every byte zero, the size kept
//	damage FILE zero-data   the pages after the two meta pages zeroed
//	damage FILE garbage     random bytes, the size kept
//	damage FILE magic       the magic number of both meta pages changed
func damageCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: damage FILE truncate|zero|zero-data|garbage|magic")
	}
	path := ts.MkAbs(args[0])
	b, err := os.ReadFile(path)
	ts.Check(err)
	// bbolt's first page starts with a 16-byte page header, then the
	// meta: magic, version, page size (machine byte order).
	pageSize := int(binary.NativeEndian.Uint32(b[16+8:]))
	if pageSize < 512 || 2*pageSize > len(b) {
		ts.Fatalf("damage: %s is not a bbolt file with two meta pages", args[0])
	}
	switch args[1] {
	case "truncate":
		b = b[:len(b)/2]
	case "zero":
		clear(b)
	case "zero-data":
		clear(b[2*pageSize:])
	case "garbage":
		r := rand.New(rand.NewPCG(7, 11))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
	case "magic":
		for _, off := range []int{16, pageSize + 16} {
			b[off] ^= 0xff
		}
	default:
		ts.Fatalf("damage: unknown kind %q", args[1])
	}
	ts.Check(os.WriteFile(path, b, 0o600))
}

// treeCmd prints every file under a folder with its size and SHA-256, so
// that a script can tell that nothing in it changed.
func treeCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: tree DIR")
	}
	root := ts.MkAbs(args[0])
	var out strings.Builder
	ts.Check(filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			fmt.Fprintf(&out, "%s/\n", filepath.ToSlash(rel))
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(&out, "%s %d %x\n", filepath.ToSlash(rel), len(b), sha256.Sum256(b))
		return nil
	}))
	ts.Stdout().Write([]byte(out.String()))
}
