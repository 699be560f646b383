package main

import (
	"errors"

	"github.com/collect-ediscovery/collect/backend"
	"github.com/collect-ediscovery/collect/plan"
	"github.com/collect-ediscovery/collect/state"
)

// Exit codes are a contract with scripts and CI jobs: each has one meaning,
// documented in the README, and is never reused for another.
const (
	exitOK          = 0 // success; plan -detailed-exitcode: no changes
	exitError       = 1 // error: invalid matter, sign-in failed, a mailbox could not be read, ...
	exitChanges     = 2 // plan -detailed-exitcode: changes present
	exitUnformatted = 3 // fmt -check: files need formatting
	exitItemsFailed = 4 // apply finished but some items failed
	exitLocked      = 5 // the state is locked by another process
	exitStalePlan   = 6 // the saved plan is stale or does not match the matter
	exitVerify      = 7 // verify found missing, changed or unexpected natives (or state rebuild found natives missing or changed)
)

// exitCode is the exit status a command ends with when err stops it: the
// one place where an error decides the code.
func exitCode(err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, new(*state.LockedError)), errors.As(err, new(*backend.HeldError)):
		return exitLocked
	case errors.Is(err, plan.ErrStale), errors.As(err, new(*plan.MatterError)):
		return exitStalePlan
	}
	return exitError
}
