package store_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/collect-ediscovery/collect/store"
)

// The protocol apply follows for each batch of messages: bytes durable first,
// then the state commit, then the manifest lines.
func Example() {
	dir, _ := os.MkdirTemp("", "collection")
	defer os.RemoveAll(dir)

	s, err := store.Open(dir, store.Options{Hashes: []string{"md5", "sha1"}})
	if err != nil {
		panic(err)
	}
	// At startup, holding the state lock: sweep what a crash left behind.
	if _, err := s.Clean(); err != nil {
		panic(err)
	}
	m, err := s.OpenManifest()
	if err != nil {
		panic(err)
	}
	defer m.Close()

	body := "From: bob@globex.com\r\nSubject: pricing\r\n\r\nsee attached\r\n"
	staged, err := s.Stage(context.Background(), int64(len(body)), func(w io.Writer) (int64, error) {
		// In apply this is the streamed GET /users/{id}/messages/{id}/$value.
		return io.Copy(w, strings.NewReader(body))
	})
	if err != nil {
		panic(err) // errors.Is(err, store.ErrDiskFull): stop, tell the user to free space
	}
	// A batch of staged messages is sealed at once: two file-system syncs.
	natives, errs := s.Seal([]*store.Staged{staged})
	if errs[0] != nil {
		panic(errs[0])
	}
	native := natives[0]

	// ... commit the item to the state here (it gets seq 1) ...
	item := store.ManifestEntry{
		Seq: 1, RunID: "run-1", Custodians: []string{"jdoe"}, Mailbox: "jane.doe@contoso.com",
		Folder: "Inbox", GraphID: "AAMkAGI2", InternetMessageID: "<1@globex.com>",
		SHA256: native.SHA256, MD5: native.MD5, SHA1: native.SHA1, Size: native.Size, Path: native.Path,
		From: "bob@globex.com", Subject: "pricing", CollectedAt: time.Date(2026, 11, 26, 22, 0, 0, 0, time.UTC),
	}
	// After a crash the next run appends every state item above LastSeq.
	last, _ := m.LastSeq()
	if item.Seq > last {
		if err := m.Append([]store.ManifestEntry{item}); err != nil {
			panic(err)
		}
	}

	rep, err := store.Verify(context.Background(), dir, slices.Values([]store.ManifestEntry{item}), store.VerifyOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Println(native.Path)
	fmt.Println(rep.OK(), rep.Verified, rep.ManifestLines)
	// Output:
	// natives/43/438dd1c8dbe735ce41a2c5f29923ca4283429cf7f61cc844dd069f45a094ef56.eml
	// true 1 1
}
