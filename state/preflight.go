package state

import (
	"encoding/binary"
	"hash/fnv"
	"io"
	"os"
)

// The layout of a bbolt meta page, read here without mapping the file:
// bbolt maps the whole file into memory, and touching a page past the end
// of a truncated file kills the process (SIGBUS) rather than panicking, so
// a truncated file must be refused before bbolt opens it.
const (
	boltMagic       = 0xED0CDAED
	boltVersion     = 2
	pageHeaderSize  = 16
	metaSize        = 64 // magic .. checksum
	metaChecksumOff = 56
	minPageSize     = 512
	maxPageSize     = 1 << 20
)

type boltMeta struct {
	pageSize uint32
	pgid     uint64 // high water mark: pages in use
	txid     uint64
}

// readBoltMeta decodes the meta page at off; ok is false when it is not a
// valid one.
func readBoltMeta(f io.ReaderAt, off int64) (boltMeta, bool) {
	var b [pageHeaderSize + metaSize]byte
	if _, err := f.ReadAt(b[:], off); err != nil {
		return boltMeta{}, false
	}
	m := b[pageHeaderSize:]
	// bbolt writes the meta in the machine's byte order.
	le := binary.NativeEndian
	if le.Uint32(m[0:]) != boltMagic || le.Uint32(m[4:]) != boltVersion {
		return boltMeta{}, false
	}
	h := fnv.New64a()
	h.Write(m[:metaChecksumOff])
	if h.Sum64() != le.Uint64(m[metaChecksumOff:]) {
		return boltMeta{}, false
	}
	bm := boltMeta{pageSize: le.Uint32(m[8:]), pgid: le.Uint64(m[40:]), txid: le.Uint64(m[48:])}
	if bm.pageSize < minPageSize || bm.pageSize > maxPageSize || bm.pageSize&(bm.pageSize-1) != 0 {
		return boltMeta{}, false
	}
	return bm, true
}

// preflight checks, without modifying or mapping it, that the file at path
// looks like a whole bbolt file: a valid meta page, and as many bytes as the
// meta pages say are in use.
func preflight(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	if size == 0 {
		return &CorruptError{Path: path, Reason: "the file is empty (zero bytes)"}
	}
	m0, ok0 := readBoltMeta(f, 0)
	pageSize := int64(os.Getpagesize())
	if ok0 {
		pageSize = int64(m0.pageSize)
	}
	m1, ok1 := readBoltMeta(f, pageSize)
	if !ok0 && !ok1 {
		return &CorruptError{Path: path, Reason: "it is not a collect state file (it has no valid header)"}
	}
	if ok1 && m1.pageSize != uint32(pageSize) {
		ok1 = false
	}
	if size < 2*pageSize {
		return &CorruptError{Path: path, Reason: "the file is truncated"}
	}
	// Both meta pages must fit: bbolt reads both when it opens a file.
	for _, m := range []struct {
		meta boltMeta
		ok   bool
	}{{m0, ok0}, {m1, ok1}} {
		if m.ok && int64(m.meta.pgid)*pageSize > size {
			return &CorruptError{Path: path, Reason: "the file is truncated: " +
				"it is shorter than its header says"}
		}
	}
	return nil
}
