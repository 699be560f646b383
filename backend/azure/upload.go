package azure

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
)

// errMD5 is the error of bytes that do not hash to the MD5 the caller
// gave: nothing was written.
var errMD5 = errors.New("the bytes do not match the MD5 given for them; nothing was written: read the source again")

// put writes the size bytes of r from its current offset to b as one
// conditional write, with the service checking md5.
//
// It calls Upload (one Put Blob) or StageBlock and CommitBlockList
// (Put Block, Put Block List) itself. The SDK's helpers UploadBuffer and
// UploadFile drop the access conditions from the Put Block List they send
// for a large object (blockblob.uploadFromReaderOptions builds its
// CommitBlockListOptions without them in azblob v1.8.3), which would turn
// a write-once into an overwrite, and none of the helpers take a
// whole-object MD5 to check.
func (s *Store) put(ctx context.Context, b *blockblob.Client, r io.ReadSeeker, size int64, sum []byte, meta map[string]*string, cond *blob.AccessConditions) error {
	if len(sum) != md5.Size {
		return fmt.Errorf("the MD5 given has %d bytes, not %d", len(sum), md5.Size)
	}
	if size < 0 {
		return fmt.Errorf("negative size %d", size)
	}
	start, err := r.Seek(0, io.SeekCurrent)
	if err != nil {
		return fmt.Errorf("reading the object's bytes: %w", err)
	}
	// The blob keeps the MD5 as its Content-MD5 property; the service does
	// not check this header on Put Block List, so put checks the whole
	// object itself before committing.
	headers := &blob.HTTPHeaders{BlobContentMD5: sum}
	if size <= s.putLimit {
		body := &section{r: r, base: start, size: size, moved: true}
		_, err := b.Upload(ctx, body, &blockblob.UploadOptions{
			Metadata:                meta,
			HTTPHeaders:             headers,
			AccessConditions:        cond,
			TransactionalValidation: blob.TransferValidationTypeMD5(sum),
		})
		if isMD5Mismatch(err) {
			return errMD5
		}
		return err
	}

	var lease *blob.LeaseAccessConditions
	if cond != nil {
		lease = cond.LeaseAccessConditions
	}
	// Block IDs carry this write's own random tag: blocks that two writers
	// stage for one name at once never mix.
	var tag [8]byte
	if _, err := rand.Read(tag[:]); err != nil {
		return err
	}
	buf := make([]byte, min(s.blockSize, size))
	whole := md5.New()
	var ids []string
	for off := int64(0); off < size; {
		n := min(s.blockSize, size-off)
		if _, err := io.ReadFull(r, buf[:n]); err != nil {
			return fmt.Errorf("reading the object's bytes at offset %d of %d: %w", off, size, err)
		}
		whole.Write(buf[:n])
		blockSum := md5.Sum(buf[:n])
		id := base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "%s-%08d", hex.EncodeToString(tag[:]), len(ids)))
		_, err := b.StageBlock(ctx, id, streaming.NopCloser(bytes.NewReader(buf[:n])), &blockblob.StageBlockOptions{
			LeaseAccessConditions:   lease,
			TransactionalValidation: blob.TransferValidationTypeMD5(blockSum[:]),
		})
		if err != nil {
			if isMD5Mismatch(err) {
				return fmt.Errorf("block at offset %d changed on the way: %w", off, err)
			}
			return err
		}
		ids = append(ids, id)
		off += n
	}
	if !bytes.Equal(whole.Sum(nil), sum) {
		return errMD5
	}
	_, err = b.CommitBlockList(ctx, ids, &blockblob.CommitBlockListOptions{
		Metadata:         meta,
		HTTPHeaders:      headers,
		AccessConditions: cond,
	})
	return err
}

// section is size bytes of r from offset base, as the SDK wants a request
// body: seekable to its start for every retry, and never closing r.
type section struct {
	r     io.ReadSeeker
	base  int64
	size  int64
	pos   int64
	moved bool // r is not at base+pos
}

func (s *section) Read(p []byte) (int, error) {
	if s.pos >= s.size {
		return 0, io.EOF
	}
	if s.moved {
		if _, err := s.r.Seek(s.base+s.pos, io.SeekStart); err != nil {
			return 0, err
		}
		s.moved = false
	}
	if rest := s.size - s.pos; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := s.r.Read(p)
	s.pos += int64(n)
	if err == io.EOF && s.pos < s.size {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (s *section) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += s.pos
	case io.SeekEnd:
		offset += s.size
	default:
		return 0, errors.New("section: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("section: negative offset")
	}
	if offset != s.pos {
		s.pos = offset
		s.moved = true
	}
	return offset, nil
}

func (s *section) Close() error { return nil }

func isMD5Mismatch(err error) bool {
	return bloberror.HasCode(err, bloberror.MD5Mismatch)
}
