package config

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Shard is one of the parts a matter's mailboxes are split into, so that
// several processes (a Kubernetes Indexed Job, a CI matrix) collect one
// matter at once. Index counts from 1: 2/4 is the second of four shards.
// The zero value means not sharded.
type Shard struct{ Index, Count int }

// MaxShards is the most shards a matter can be split into.
const MaxShards = 1000

// Environment variables a shard is read from when no -shard is given.
const (
	EnvShard  = "COLLECT_SHARD"  // I/N, as -shard takes it
	EnvShards = "COLLECT_SHARDS" // N, with JOB_COMPLETION_INDEX
	// EnvJobCompletionIndex is set by Kubernetes in each pod of an Indexed
	// Job; it counts from 0.
	EnvJobCompletionIndex = "JOB_COMPLETION_INDEX"
)

const shardForm = "write it as I/N, such as -shard=2/4 (the second of four shards), with 1 <= I <= N <= 1000"

// ParseShard reads a shard written as I/N.
func ParseShard(s string) (Shard, error) {
	is, ns, ok := strings.Cut(strings.TrimSpace(s), "/")
	i, errI := strconv.Atoi(is)
	n, errN := strconv.Atoi(ns)
	if !ok || errI != nil || errN != nil || !digits(is) || !digits(ns) {
		return Shard{}, fmt.Errorf("%q is not a shard: %s", s, shardForm)
	}
	switch {
	case n < 1:
		return Shard{}, fmt.Errorf("%q has no shards to split the matter into: %s", s, shardForm)
	case n > MaxShards:
		return Shard{}, fmt.Errorf("%q splits the matter into more than %d shards: use at most %d", s, MaxShards, MaxShards)
	case i < 1:
		return Shard{}, fmt.Errorf("%q: shards count from 1, so the first of %d is 1/%d", s, n, n)
	case i > n:
		return Shard{}, fmt.Errorf("%q: there are only %d shards, so the last is %d/%d", s, n, n, n)
	}
	return Shard{Index: i, Count: n}, nil
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// ShardFromEnv reads the shard a process is when no -shard is given: a
// pod of a Kubernetes Indexed Job has JOB_COMPLETION_INDEX (from 0) and
// COLLECT_SHARDS=N in its spec; anything else may set COLLECT_SHARD=I/N,
// which wins over the index. ok is false when neither says.
func ShardFromEnv(getenv func(string) string) (s Shard, ok bool, err error) {
	jobIndex, count := strings.TrimSpace(getenv(EnvJobCompletionIndex)), strings.TrimSpace(getenv(EnvShards))
	explicit := strings.TrimSpace(getenv(EnvShard))
	if jobIndex != "" && explicit == "" {
		if count == "" {
			return Shard{}, false, fmt.Errorf("%s=%s says this is a pod of an Indexed Job, but not how many shards there are: "+
				"set %s to the Job's completions in the pod's env", EnvJobCompletionIndex, jobIndex, EnvShards)
		}
		i, errI := strconv.Atoi(jobIndex)
		if errI != nil || !digits(jobIndex) {
			return Shard{}, false, fmt.Errorf("%s=%q is not a number", EnvJobCompletionIndex, jobIndex)
		}
		s, err := ParseShard(fmt.Sprintf("%d/%s", i+1, count))
		if err != nil {
			return Shard{}, false, fmt.Errorf("%s=%s with %s=%s: %w (the index counts from 0, so it must be below %s)",
				EnvJobCompletionIndex, jobIndex, EnvShards, count, err, EnvShards)
		}
		return s, true, nil
	}
	if explicit != "" {
		s, err := ParseShard(explicit)
		if err != nil {
			return Shard{}, false, fmt.Errorf("%s: %w", EnvShard, err)
		}
		if count != "" && count != strconv.Itoa(s.Count) {
			return Shard{}, false, fmt.Errorf("%s=%s and %s=%s disagree on how many shards there are: set one of them",
				EnvShard, explicit, EnvShards, count)
		}
		return s, true, nil
	}
	if count != "" {
		// Without it every process would collect the whole matter.
		return Shard{}, false, fmt.Errorf("%s=%s is set but not which shard this is: set %s=I/N, pass -shard=I/N, "+
			"or run as a Kubernetes Indexed Job (which sets %s)", EnvShards, count, EnvShard, EnvJobCompletionIndex)
	}
	return Shard{}, false, nil
}

// Sharded reports whether s is one shard of several, rather than the
// whole matter.
func (s Shard) Sharded() bool { return s.Count > 0 }

// String is the shard as -shard takes it, "2/4"; "" when not sharded.
func (s Shard) String() string {
	if !s.Sharded() {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// Name is the shard's folder name in a backend, "2-of-4"; "" when not
// sharded.
func (s Shard) Name() string {
	if !s.Sharded() {
		return ""
	}
	return fmt.Sprintf("%d-of-%d", s.Index, s.Count)
}

// Owns reports whether the mailbox with the given e-mail address belongs
// to the shard. The assignment depends only on the address (case and
// surrounding space aside) and the shard count: the first 8 bytes of the
// address's SHA-256, big-endian, modulo the count. It must never change
// between versions, since a shard that is run again resumes the mailboxes
// it had. Every address belongs to a matter that is not sharded.
func (s Shard) Owns(address string) bool {
	if !s.Sharded() {
		return true
	}
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(address))))
	return binary.BigEndian.Uint64(sum[:8])%uint64(s.Count) == uint64(s.Index-1)
}

// ForShard returns a copy of the matter that holds only the mailboxes the
// shard owns, for plan and apply to work on. Custodians are all kept, so
// that every custodian a kept mailbox names is still known; the copy's
// Hash is that of its own scope, so a plan made for one shard is refused
// by another. m is not changed. Not sharded, the copy holds everything.
func (m *Matter) ForShard(s Shard) *Matter {
	c := *m
	c.Custodians = make([]*Custodian, 0, len(m.Custodians))
	for _, cu := range m.Custodians {
		cc := *cu
		cc.Windows = slices.Clone(cu.Windows)
		c.Custodians = append(c.Custodians, &cc)
	}
	c.Mailboxes = nil
	for _, mb := range m.Mailboxes {
		if !s.Owns(mb.Email) {
			continue
		}
		mc := *mb
		mc.Custodians = slices.Clone(mb.Custodians)
		mc.Windows = slices.Clone(mb.Windows)
		c.Mailboxes = append(c.Mailboxes, &mc)
	}
	return &c
}
