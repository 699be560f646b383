package export

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// Names inside a volume folder.
const (
	AttachmentsDir = "attachments"
	NativesDir     = "natives"
	RecordFile     = "export.json"
	partialPrefix  = ".partial-"
	filePerm       = 0o400
	dirPerm        = 0o700
)

var volumeName = regexp.MustCompile(`^VOL(\d{4,})$`)

// VolumeName is the folder name of volume n: VOL0001.
func VolumeName(n int) string { return fmt.Sprintf("VOL%04d", n) }

// onDisk is what the volumes already in an exports folder say.
type onDisk struct {
	lastVolume int
	// lastDOCID is the highest control number a volume's export record
	// names, and where; the counter it came from, for comparing with the state's.
	lastDOCID  string
	lastNumber uint64
	from       string
}

// readOnDisk reads the volume folders of out and their export records.
func readOnDisk(out string) (onDisk, error) {
	var d onDisk
	entries, err := os.ReadDir(out)
	if errors.Is(err, fs.ErrNotExist) {
		return d, nil
	}
	if err != nil {
		return d, err
	}
	for _, e := range entries {
		m := volumeName.FindStringSubmatch(e.Name())
		if m == nil || !e.IsDir() {
			continue
		}
		if n, err := strconv.Atoi(m[1]); err == nil && n > d.lastVolume {
			d.lastVolume = n
		}
		data, err := os.ReadFile(filepath.Join(out, e.Name(), RecordFile))
		if err != nil {
			continue // not a volume collect wrote
		}
		var rec struct {
			Prefix    string `json:"prefix"`
			LastDOCID string `json:"last_docid"`
		}
		if json.Unmarshal(data, &rec) != nil {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimPrefix(rec.LastDOCID, rec.Prefix), 10, 64)
		if err == nil && n > d.lastNumber {
			d.lastNumber, d.lastDOCID, d.from = n, rec.LastDOCID, e.Name()
		}
	}
	return d, nil
}

// volume is a volume being written: a hidden folder renamed into place
// once complete, so that a volume folder is never seen half written.
// Its methods are safe for concurrent use.
type volume struct {
	dir     string // the partial folder
	mu      sync.Mutex
	written map[string]bool // files placed, by path in the volume
}

func newVolume(out string) (*volume, error) {
	if err := os.MkdirAll(out, dirPerm); err != nil {
		return nil, fmt.Errorf("create the exports folder %s: %w", out, err)
	}
	if err := sweepPartial(out); err != nil {
		return nil, err
	}
	dir := filepath.Join(out, partialPrefix+rand.Text())
	if err := os.Mkdir(dir, dirPerm); err != nil {
		return nil, fmt.Errorf("create a volume folder in %s: %w", out, err)
	}
	return &volume{dir: dir, written: map[string]bool{}}, nil
}

// discard removes a volume that was not completed. Its files are copies
// of evidence, never evidence: the natives stay where apply wrote them.
func (v *volume) discard() {
	filepath.WalkDir(v.dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, dirPerm)
		}
		return nil
	})
	os.RemoveAll(v.dir)
}

// sweepPartial removes the volumes an interrupted export left half
// written. They hold copies, never evidence, and the state's lock keeps a
// running export from being swept.
func sweepPartial(out string) error {
	entries, err := os.ReadDir(out)
	if err != nil {
		return fmt.Errorf("read the exports folder %s: %w", out, err)
	}
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), partialPrefix) {
			(&volume{dir: filepath.Join(out, e.Name())}).discard()
		}
	}
	return nil
}

func (v *volume) abs(rel string) string { return filepath.Join(v.dir, filepath.FromSlash(rel)) }

func (v *volume) mkdirFor(rel string) error {
	return os.MkdirAll(filepath.Dir(v.abs(rel)), dirPerm)
}

// hashes computes the three digests of a load file at once.
type hashes struct {
	sha256, sha1, md5 hash.Hash
	size              int64
}

func newHashes() *hashes { return &hashes{sha256: sha256.New(), sha1: sha1.New(), md5: md5.New()} }

func (h *hashes) Write(p []byte) (int, error) {
	h.sha256.Write(p)
	h.sha1.Write(p)
	h.md5.Write(p)
	h.size += int64(len(p))
	return len(p), nil
}

func (h *hashes) stored() Stored {
	return Stored{
		SHA256: hex.EncodeToString(h.sha256.Sum(nil)),
		SHA1:   hex.EncodeToString(h.sha1.Sum(nil)),
		MD5:    hex.EncodeToString(h.md5.Sum(nil)),
		Size:   h.size,
	}
}

// contentPath is where bytes with this SHA-256 are kept in a folder.
func contentPath(dir, sha256Hex, ext string) string {
	return dir + "/" + sha256Hex[:2] + "/" + sha256Hex + "." + ext
}

// Put stores an extracted part under attachments/, named by its SHA-256:
// identical parts are written once, read-only. When r fails part way (a
// damaged encoding), what was read is stored and the error returned.
func (v *volume) Put(r io.Reader, ext string) (Stored, error) {
	tmp, err := os.CreateTemp(v.dir, partialPrefix+"*")
	if err != nil {
		return Stored{}, err
	}
	h := newHashes()
	src := &readErr{r: r}
	_, copyErr := io.Copy(io.MultiWriter(tmp, h), src)
	closeErr := tmp.Close()
	st := h.stored()
	if copyErr != nil && src.err == nil {
		// Not the part but the file failed: nothing is kept.
		os.Remove(tmp.Name())
		return st, copyErr
	}
	if closeErr != nil {
		os.Remove(tmp.Name())
		return st, closeErr
	}
	st.Path = contentPath(AttachmentsDir, st.SHA256, ext)
	if err := v.place(tmp.Name(), st.Path); err != nil {
		os.Remove(tmp.Name())
		return st, err
	}
	return st, src.err
}

// readErr remembers the error of its reader, to tell it from a write error.
type readErr struct {
	r   io.Reader
	err error
}

func (e *readErr) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		e.err = err
	}
	return n, err
}

// Open reads back a file of the volume.
func (v *volume) Open(rel string) (io.ReadCloser, error) { return os.Open(v.abs(rel)) }

// place renames a complete temp file to rel, read-only, unless a file
// with the same content is already there.
func (v *volume) place(tmp, rel string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.written[rel] {
		return os.Remove(tmp)
	}
	if err := v.mkdirFor(rel); err != nil {
		return err
	}
	if err := os.Chmod(tmp, filePerm); err != nil {
		return err
	}
	if err := os.Rename(tmp, v.abs(rel)); err != nil {
		return err
	}
	v.written[rel] = true
	return nil
}

// addNative puts a collected message's native into the volume, linked to
// the evidence store's file when both are on one file system (no copy,
// same read-only file), copied otherwise.
func (v *volume) addNative(src, rel string) error {
	v.mu.Lock()
	if v.written[rel] {
		v.mu.Unlock()
		return nil
	}
	err := v.mkdirFor(rel)
	if err == nil {
		err = os.Link(src, v.abs(rel))
	}
	if err == nil {
		v.written[rel] = true
	}
	v.mu.Unlock()
	if err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(v.dir, partialPrefix+"*")
	if err != nil {
		return err
	}
	_, err = io.Copy(tmp, in)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = v.place(tmp.Name(), rel)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// create makes a file of the volume for writing.
func (v *volume) create(rel string) (*os.File, error) {
	if err := v.mkdirFor(rel); err != nil {
		return nil, err
	}
	return os.OpenFile(v.abs(rel), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
}

// seal makes the volume's files read-only, syncs them and renames the
// folder to its name; it returns the final path.
func (v *volume) seal(out, name string, files []string) (string, error) {
	for _, rel := range files {
		f, err := os.Open(v.abs(rel))
		if err != nil {
			return "", err
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return "", err
		}
		if err := os.Chmod(v.abs(rel), filePerm); err != nil {
			return "", err
		}
	}
	final := filepath.Join(out, name)
	if _, err := os.Stat(final); err == nil {
		return "", fmt.Errorf("%s already exists; it was not replaced", final)
	}
	if err := os.Rename(v.dir, final); err != nil {
		return "", err
	}
	if d, err := os.Open(out); err == nil {
		d.Sync()
		d.Close()
	}
	return final, nil
}
