package custody

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Checkpoint is a signed statement of the log's state after an apply: the
// matter (origin), how many manifest lines the tree holds, and its root.
type Checkpoint struct {
	Origin string
	Size   int64
	Root   tlog.Hash
	// File is the checkpoint's name in the custody folder, "<run-id>.checkpoint".
	File string
	// Text is the file's bytes: the body and, when signed, its signatures.
	Text []byte
	// Held is set for a checkpoint kept outside the output folder; File
	// is then its path.
	Held bool
}

// Where names the checkpoint in a report: custody/<run-id>.checkpoint, or
// the path of a checkpoint kept elsewhere.
func (c Checkpoint) Where() string {
	if c.Held {
		return c.File
	}
	return Dir + "/" + c.File
}

// Body is the signed text: three lines, origin, tree size and the root
// hash in base64, as transparency logs write their checkpoints.
func (c Checkpoint) Body() string {
	return fmt.Sprintf("%s\n%d\n%s\n", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Root[:]))
}

// Origin is the origin a matter's checkpoints name.
func Origin(matter string) string { return "collect/" + matter }

// parseBody reads the three lines of a checkpoint's body. Lines after the
// third are extensions, kept by the signature but not read.
func parseBody(text string) (origin string, size int64, root tlog.Hash, err error) {
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) < 4 {
		return "", 0, root, errors.New("it does not have the three lines of a checkpoint (origin, tree size, root hash)")
	}
	origin = lines[0]
	if origin == "" {
		return "", 0, root, errors.New("its first line, the origin, is empty")
	}
	size, err = strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return "", 0, root, fmt.Errorf("its second line %q is not a tree size", lines[1])
	}
	b, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(b) != tlog.HashSize {
		return "", 0, root, fmt.Errorf("its third line %q is not a base64 SHA-256 root hash", lines[2])
	}
	copy(root[:], b)
	return origin, size, root, nil
}

// splitSigned separates a checkpoint file into its body and its
// signature lines (none for an unsigned checkpoint). The signed-note
// format puts a blank line between them.
func splitSigned(msg []byte) (body string, sigs []string, err error) {
	if !bytes.HasSuffix(msg, []byte("\n")) {
		return "", nil, errors.New("it does not end with a newline")
	}
	i := bytes.LastIndex(msg, []byte("\n\n"))
	if i < 0 {
		return string(msg), nil, nil
	}
	body = string(msg[:i+1])
	for _, l := range strings.Split(strings.TrimSuffix(string(msg[i+2:]), "\n"), "\n") {
		if !strings.HasPrefix(l, "— ") {
			return "", nil, fmt.Errorf("line %q after the blank line is not a signature", l)
		}
		sigs = append(sigs, l)
	}
	return body, sigs, nil
}

// ParseCheckpoint reads a checkpoint file's body, without checking any
// signature. Its error says why the file "is not a checkpoint".
func ParseCheckpoint(file string, msg []byte) (Checkpoint, error) {
	body, _, err := splitSigned(msg)
	if err == nil {
		c := Checkpoint{File: file, Text: msg}
		if c.Origin, c.Size, c.Root, err = parseBody(body); err == nil {
			return c, nil
		}
	}
	return Checkpoint{}, fmt.Errorf("is not a checkpoint: %v", err)
}

// Signed reports whether the checkpoint carries any signature.
func (c Checkpoint) Signed() bool {
	_, sigs, err := splitSigned(c.Text)
	return err == nil && len(sigs) > 0
}

// checkSignature checks the checkpoint's signature with the verifier key;
// nil when it verifies.
func (c Checkpoint) checkSignature(v note.Verifier) error {
	if !c.Signed() {
		return fmt.Errorf("it is not signed, but the matter's verifier key is %s+%08x: it was written without the key, or its signature was removed", v.Name(), v.KeyHash())
	}
	n, err := note.Open(c.Text, note.VerifierList(v))
	var unverified *note.UnverifiedNoteError
	var invalid *note.InvalidSignatureError
	switch {
	case errors.As(err, &invalid):
		return fmt.Errorf("its signature by %s does not verify: the checkpoint was changed after it was signed, or forged", invalid.Name)
	case errors.As(err, &unverified):
		var by []string
		for _, s := range unverified.Note.UnverifiedSigs {
			by = append(by, fmt.Sprintf("%s+%08x", s.Name, s.Hash))
		}
		return fmt.Errorf("it is signed by %s, not by the matter's verifier key %s+%08x: forged, or signed with another key", strings.Join(by, ", "), v.Name(), v.KeyHash())
	case err != nil:
		return fmt.Errorf("its signature cannot be read: %v", err)
	}
	if n.Text != c.Body() {
		return errors.New("its signed text is not its body")
	}
	return nil
}

// ReadCheckpoints reads every checkpoint in the custody folder of the
// output folder dir, in tree-size order (file name among equal sizes).
// Files that are not checkpoints are returned as problems, not errors.
func ReadCheckpoints(dir string) ([]Checkpoint, []Problem, error) {
	entries, err := os.ReadDir(filepath.Join(dir, Dir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("custody: listing %s: %w", Dir, err)
	}
	var cps []Checkpoint
	var problems []Problem
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue // a checkpoint being written
		}
		where := Dir + "/" + name
		if !strings.HasSuffix(name, checkpointExt) || !e.Type().IsRegular() {
			problems = append(problems, Problem{Where: where, What: "is not a checkpoint: the custody folder holds only <run-id>" + checkpointExt + " files"})
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, Dir, name))
		if err != nil {
			return nil, nil, fmt.Errorf("custody: reading %s: %w", where, err)
		}
		c, err := ParseCheckpoint(name, b)
		if err != nil {
			problems = append(problems, Problem{Where: where, What: err.Error()})
			continue
		}
		cps = append(cps, c)
	}
	slices.SortStableFunc(cps, func(a, b Checkpoint) int {
		switch {
		case a.Size < b.Size:
			return -1
		case a.Size > b.Size:
			return 1
		}
		return strings.Compare(a.File, b.File)
	})
	return cps, problems, nil
}
