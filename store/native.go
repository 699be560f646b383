package store

import (
	"bufio"
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// Native describes a message stored in the output folder.
type Native struct {
	SHA256 string // lower-case hex
	MD5    string // lower-case hex, empty unless the store computes md5
	SHA1   string // lower-case hex, empty unless the store computes sha1
	Size   int64
	Path   string // relative to the output folder, slash-separated
	// Deduplicated is true when identical bytes were already stored: the
	// existing file was kept and the new copy discarded.
	Deduplicated bool
}

// Produce streams one message body into w and returns the number of bytes
// it wrote. It is typically the Graph fetch of /messages/{id}/$value.
type Produce func(w io.Writer) (int64, error)

const lostMessage = "nothing was recorded for this message"

// writeFile writes and hashes the temp file without syncing it (Seal syncs
// a batch at once); it leaves the cleanup of tmp on failure to the caller.
func (s *Store) writeFile(ctx context.Context, tmp string, expectedSize int64, produce Produce) (Native, error) {
	relTmp := s.rel(tmp)
	f, err := s.create(tmp, 0o600)
	if err != nil {
		return Native{}, diskFull(fmt.Errorf("store: creating %s: %w", relTmp, err), s.dir, "create", relTmp, lostMessage)
	}
	closed := false
	defer func() {
		if !closed {
			f.Close()
		}
	}()

	sum256 := sha256.New()
	hashers := []io.Writer{sum256}
	var sumMD5, sumSHA1 hash.Hash
	if s.md5 {
		sumMD5 = md5.New()
		hashers = append(hashers, sumMD5)
	}
	if s.sha1 {
		sumSHA1 = sha1.New()
		hashers = append(hashers, sumSHA1)
	}
	// The file sees bytes after the buffer, the hashes see them as they arrive;
	// a failed flush fails the whole write, so the two never disagree in a result.
	fw := &fileWriter{f: f}
	buf := writeBuffers.Get().(*bufio.Writer)
	buf.Reset(fw)
	defer func() {
		buf.Reset(nil)
		writeBuffers.Put(buf)
	}()
	sink := &countingWriter{ctx: ctx, w: io.MultiWriter(append([]io.Writer{buf}, hashers...)...), limit: expectedSize}

	produced, perr := produce(sink)
	if fw.err != nil {
		// The disk's own error explains the failure better than produce's wrapping of it.
		return Native{}, diskFull(fmt.Errorf("store: writing %s: %w", relTmp, fw.err), s.dir, "write", relTmp, lostMessage)
	}
	if sink.err != nil {
		// Cancellation or an over-long body stopped the stream; that is the cause.
		return Native{}, fmt.Errorf("store: %w; %s", sink.err, lostMessage)
	}
	if perr != nil {
		return Native{}, fmt.Errorf("store: receiving the message body: %w; %s", perr, lostMessage)
	}
	if produced != sink.n {
		return Native{}, fmt.Errorf("store: the message download reported %d bytes but wrote %d: %w; %s", produced, sink.n, ErrSizeMismatch, lostMessage)
	}
	if expectedSize >= 0 && sink.n != expectedSize {
		return Native{}, fmt.Errorf("store: the message body has %d bytes, %d were announced (truncated or changed download): %w; %s", sink.n, expectedSize, ErrSizeMismatch, lostMessage)
	}
	if err := buf.Flush(); err != nil {
		return Native{}, diskFull(fmt.Errorf("store: writing %s: %w", relTmp, err), s.dir, "write", relTmp, lostMessage)
	}
	closed = true
	if err := f.Close(); err != nil {
		return Native{}, diskFull(fmt.Errorf("store: closing %s: %w", relTmp, err), s.dir, "write", relTmp, lostMessage)
	}
	if err := os.Chmod(tmp, s.nativePrm); err != nil {
		return Native{}, fmt.Errorf("store: making %s read-only: %w", relTmp, err)
	}

	n := Native{SHA256: hex.EncodeToString(sum256.Sum(nil)), Size: sink.n}
	if sumMD5 != nil {
		n.MD5 = hex.EncodeToString(sumMD5.Sum(nil))
	}
	if sumSHA1 != nil {
		n.SHA1 = hex.EncodeToString(sumSHA1.Sum(nil))
	}
	n.Path = NativePath(n.SHA256)
	return n, nil
}

// place puts a staged temp file at its content address, or drops it when
// identical bytes are already stored, without syncing: Seal syncs the batch.
func (s *Store) place(tmp string, n *Native) error {
	lock := &s.shards[hexByte(n.SHA256)]
	lock.Lock()
	defer lock.Unlock()
	target := s.abs(n.Path)
	shardDir := filepath.Dir(target)
	if _, err := mkdir(shardDir, s.dirPerm); err != nil {
		return diskFull(fmt.Errorf("store: creating %s: %w", s.rel(shardDir), err), s.dir, "mkdir", s.rel(shardDir), lostMessage)
	}
	if fi, err := os.Lstat(target); err == nil {
		if !fi.Mode().IsRegular() || fi.Size() != n.Size {
			return fmt.Errorf("store: %s already exists with size %d and type %s, but the message has %d bytes with that SHA-256; the existing file was left untouched, run collect verify: %w",
				n.Path, fi.Size(), fi.Mode().Type(), n.Size, ErrNativeConflict)
		}
		// Identical bytes are evidence already; the existing file is never
		// rewritten. Its entry may be only in the page cache if an earlier
		// run crashed before syncing the folder, so Seal still syncs it.
		if err := os.Remove(tmp); err != nil {
			return fmt.Errorf("store: removing the duplicate temp file %s: %w", s.rel(tmp), err)
		}
		n.Deduplicated = true
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store: checking %s: %w", n.Path, err)
	}
	if err := os.Rename(tmp, target); err != nil {
		return diskFull(fmt.Errorf("store: renaming %s to %s: %w", s.rel(tmp), n.Path, err), s.dir, "rename", n.Path, lostMessage)
	}
	return nil
}
func hexByte(h string) byte {
	b, _ := hex.DecodeString(h[:2])
	return b[0]
}

// fileWriter remembers the first error of the file so that a disk error is
// reported as such even when produce wraps or replaces it.
// writeBuffers are the 128 KB write buffers of natives being written,
// reused: a new one per message was most of what apply allocated.
var writeBuffers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 128<<10) }}

type fileWriter struct {
	f   File
	err error
}

func (w *fileWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.f.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	w.err = err
	return n, err
}

// countingWriter counts bytes accepted and stops the stream when ctx ends or
// when more bytes arrive than were announced (limit; negative for none).
type countingWriter struct {
	ctx   context.Context
	w     io.Writer
	limit int64
	n     int64
	err   error
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if err := c.ctx.Err(); err != nil {
		c.err = err
		return 0, err
	}
	if c.limit >= 0 && c.n+int64(len(p)) > c.limit {
		c.err = fmt.Errorf("the message body is longer than the %d bytes announced: %w", c.limit, ErrSizeMismatch)
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err != nil {
		c.err = err
	}
	return n, err
}

// randText names temp files; it only has to be unique, not secret.
func randText() string { return rand.Text() }
