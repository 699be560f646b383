package plan

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/collect-ediscovery/collect/internal/durable"
	"github.com/collect-ediscovery/collect/internal/jsondoc"
)

// Document is the JSON form of a plan, in a plan file and in plan -json:
// the plan with its totals and verdicts spelled out.
type Document struct {
	*Plan
	Counts    Counts `json:"counts"`
	Complete  bool   `json:"complete"`
	Applyable bool   `json:"applyable"`
}

// Doc wraps the plan with its totals for writing.
func (p *Plan) Doc() Document {
	return Document{Plan: p, Counts: p.Counts(), Complete: p.Complete(), Applyable: p.Applyable()}
}

// Write saves the plan to path atomically (a reader sees the whole file
// or none), readable by the owner only: it names custodians and subjects.
func Write(path string, p *Plan) (hash string, err error) {
	h := sha256.New()
	err = durable.Write(path, 0o600, func(f io.Writer) error {
		w := bufio.NewWriter(io.MultiWriter(f, h))
		if err := jsondoc.WriteLine(w, p.Doc()); err != nil {
			return err
		}
		return w.Flush()
	})
	if err != nil {
		return "", fmt.Errorf("save the plan: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Read loads a saved plan and returns it with the SHA-256 of the file.
func Read(path string) (*Plan, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("read the plan file: %w", err)
	}
	if err := jsondoc.CheckVersion(b); err != nil {
		var newer *jsondoc.NewerError
		if errors.As(err, &newer) {
			return nil, "", fmt.Errorf("%s was written by a newer collect (%v): use that version, or make a new plan", path, err)
		}
		return nil, "", fmt.Errorf("%s is not a collect plan file (or is damaged): make a new one with collect plan -out", path)
	}
	var p Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, "", fmt.Errorf("%s is damaged: %v; make a new plan with collect plan -out", path, err)
	}
	sum := sha256.Sum256(b)
	return &p, hex.EncodeToString(sum[:]), nil
}

// StaleError says why a saved plan cannot be applied any more.
type StaleError struct{ Reason string }

func (e *StaleError) Error() string { return "the saved plan is stale: " + e.Reason }

// ErrStale matches any *StaleError with errors.Is.
var ErrStale = errors.New("stale plan")

func (e *StaleError) Is(target error) bool { return target == ErrStale }

// MatterError says a saved plan was made for another matter than the one
// it is applied to.
type MatterError struct {
	Plan   string // the matter the plan was made for
	Matter string // the matter of the folder it is applied in
}

func (e *MatterError) Error() string {
	return fmt.Sprintf("this plan is for matter %q, and this folder holds matter %q. Apply it in the folder of matter %q "+
		"(collect -chdir=DIR apply FILE), or make a plan for this matter with collect plan -out=FILE.", e.Plan, e.Matter, e.Plan)
}

// CheckFresh refuses a plan made for another matter (a *MatterError), or
// for another version of this matter or against another state than the
// one given (a *StaleError), so that a saved plan is applied once, to what
// it was reviewed for.
func (p *Plan) CheckFresh(matter, matterHash, lineage string, serial uint64) error {
	switch {
	case p.Matter != "" && p.Matter != matter:
		return &MatterError{Plan: p.Matter, Matter: matter}
	case p.MatterHash != matterHash:
		return &StaleError{"the matter changed since the plan was made. Review the change and make a new plan " +
			"with collect plan -out=FILE."}
	case p.State.Lineage == "":
		// Made before any state existed: fresh only while nothing has
		// been applied (apply creates the file at serial 0).
		if serial != 0 {
			return &StaleError{"it was made before the state file existed, and the state has been written since " +
				"(this plan, or another, was applied). Make a new plan with collect plan -out=FILE."}
		}
	case p.State.Lineage != lineage:
		return &StaleError{fmt.Sprintf("it was made against another state file (lineage %s, this one is %s). "+
			"Check the state path, or make a new plan.", p.State.Lineage, lineage)}
	case p.State.Serial != serial:
		return &StaleError{fmt.Sprintf("the state changed since the plan was made (serial %d, now %d): "+
			"an apply ran in between. Make a new plan with collect plan -out=FILE.", p.State.Serial, serial)}
	}
	return nil
}
