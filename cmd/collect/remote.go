package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/collect-ediscovery/collect/apply"
	"github.com/collect-ediscovery/collect/backend"
	"github.com/collect-ediscovery/collect/backend/azure"
	"github.com/collect-ediscovery/collect/backend/workspace"
	"github.com/collect-ediscovery/collect/config"
	"github.com/collect-ediscovery/collect/custody"
	"github.com/collect-ediscovery/collect/state"
	"github.com/collect-ediscovery/collect/store"
)

// remoteShard is the shard of a backend's collection that a command works
// on, through its working folder.
type remoteShard struct {
	ws    *workspace.Workspace
	shard config.Shard
	write bool
	tmp   string // a read's working folder, removed at the end
}

// describe names the shard's home for messages.
func (r *remoteShard) describe() string {
	return fmt.Sprintf("%s (shard %s)", r.ws.Store(), r.shard)
}

// openBackend opens the matter's backend store.
func openBackend(ctx context.Context, s *streams, m *config.Matter) (backend.Store, error) {
	switch m.Backend.Type {
	case config.BackendAzureRM:
		cfg := azure.ConfigFromEnv(s.getenv)
		cfg.Account, cfg.Container, cfg.Prefix, cfg.Endpoint = m.Backend.StorageAccount, m.Backend.Container, m.Backend.Prefix, m.Backend.Endpoint
		if d := s.getenv("COLLECT_BACKEND_LEASE_DURATION"); d != "" {
			lease, err := time.ParseDuration(d)
			if err != nil || lease < 15*time.Second || lease > time.Minute {
				return nil, fmt.Errorf("COLLECT_BACKEND_LEASE_DURATION=%q is not a lease duration: give whole seconds from 15s to 60s, such as 30s", d)
			}
			cfg.LeaseDuration = lease
		}
		return azure.Open(ctx, cfg)
	}
	return nil, fmt.Errorf("the backend type %q is not supported", m.Backend.Type)
}

// shardOf is the shard a command names (-shard, or the environment of a
// Kubernetes Indexed Job or a CI matrix), checked against the backend's
// layout; a collection of one shard needs no -shard.
func shardOf(ctx context.Context, s *streams, st backend.Store) (config.Shard, error) {
	l, found, err := workspace.ReadLayout(ctx, st)
	if err != nil {
		return config.Shard{}, err
	}
	sh := s.shard
	if !sh.Sharded() {
		if found && l.Shards > 1 {
			return sh, fmt.Errorf("the collection in %s is kept in %d shards: name the shard with -shard=I/%d, "+
				"or COLLECT_SHARD=I/%d", st, l.Shards, l.Shards, l.Shards)
		}
		sh = config.Shard{Index: 1, Count: 1}
	}
	if found && l.Shards != sh.Count {
		return sh, &workspace.ReshardError{Store: st.String(), Have: l.Shards, Want: sh.Count}
	}
	return sh, nil
}

// attachRemote makes the working folder of the matter's shard and points
// the matter at it: its state file, its output folder and its scope (the
// mailboxes the shard owns). write takes the shard's lease, as apply and
// export do. It returns the exit code when it fails, its reasons gone to
// the diagnostics.
func attachRemote(s *streams, m *config.Matter, write bool, timeout time.Duration, op string) int {
	ctx := context.Background()
	fail := func(summary string, err error) int {
		s.errorf(summary, "%s", sentence(err.Error()))
		return exitCode(err)
	}
	st, err := openBackend(ctx, s, m)
	if err != nil {
		return fail("Cannot open the backend", err)
	}
	sh, err := shardOf(ctx, s, st)
	if err != nil {
		return fail("Cannot choose the shard", err)
	}
	r := &remoteShard{shard: sh, write: write}
	dir := ""
	if write {
		dir, err = workDir(s, st, sh)
	} else {
		dir, err = os.MkdirTemp("", "collect-read-")
		r.tmp = dir
	}
	if err != nil {
		return fail("Cannot make the working folder", err)
	}
	userName, host := whoAmI()
	ws, err := workspace.Open(ctx, workspace.Options{
		Store: st, Shard: sh.Name(), Count: sh.Count, Dir: dir, Write: write,
		Lock:        backend.LockInfo{Operation: op, Who: userName + "@" + host, Version: toolVersion()},
		LockTimeout: timeout,
	})
	if err != nil {
		if r.tmp != "" {
			os.RemoveAll(r.tmp)
		}
		summary := "Cannot read the backend"
		if errors.As(err, new(*backend.HeldError)) {
			summary = "State locked"
		}
		return fail(summary, err)
	}
	r.ws = ws
	s.remote = r
	*m = *m.ForShard(sh)
	m.State.Path, m.Output.Path = ws.StatePath(), ws.OutputDir()
	return exitOK
}

// workDir is the working folder of a shard that a command writes: one
// per shard in COLLECT_WORKDIR, or one per backend and shard in the
// user's cache. Each shard has its own, so that shards run on one machine
// never share one.
func workDir(s *streams, st backend.Store, sh config.Shard) (string, error) {
	if d := s.getenv("COLLECT_WORKDIR"); d != "" {
		abs, err := filepath.Abs(d)
		return filepath.Join(abs, sh.Name()), err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("%w; set COLLECT_WORKDIR to a local folder for the working copy", err)
	}
	sum := sha256.Sum256([]byte(st.String()))
	return filepath.Join(cache, "collect", "work", hex.EncodeToString(sum[:8]), sh.Name()), nil
}

// pullNatives fetches into the working folder the natives the state
// names, for commands that read their bytes.
func pullNatives(s *streams, db *state.DB) error {
	if s.remote == nil {
		return nil
	}
	var names []string
	err := db.View(func(r *state.ReadTx) error {
		var iterErr error
		for e := range apply.Expected(r, &iterErr) {
			names = append(names, e.Path)
		}
		return iterErr
	})
	if err != nil {
		return err
	}
	return s.remote.ws.PullNatives(context.Background(), names)
}

// closeRemote pushes what a writing command left in the working folder
// and releases the lease; a read's folder is removed. The state must be
// closed first.
func (s *streams) closeRemote() error {
	r := s.remote
	if r == nil {
		return nil
	}
	s.remote = nil
	err := r.ws.Close(context.Background())
	if r.tmp != "" {
		os.RemoveAll(r.tmp)
	}
	if err != nil {
		return fmt.Errorf("%w. What this run collected is in the working folder %s and its natives are in %s; "+
			"run the command again to push the rest", err, filepath.Dir(r.ws.OutputDir()), r.ws.Store())
	}
	return nil
}

// remoteHooks are the hooks that make a state and a store the backend's.
func (s *streams) stateHook(opts *state.Options) {
	if s.remote != nil && s.remote.write {
		opts.OnSnapshot = s.remote.ws.Checkpoint
	}
}

func (s *streams) storeHook(opts *store.Options) {
	if s.remote != nil && s.remote.write {
		opts.Publish = s.remote.ws.PublishNative
	}
}

func (s *streams) guard() func() error {
	if s.remote != nil && s.remote.write {
		return s.remote.ws.Guard
	}
	return nil
}

// chooseShard sets the shard a command works on: -shard, else the
// environment of a Kubernetes Indexed Job or a CI matrix.
func (s *streams) chooseShard(flag string, set bool) error {
	if set {
		sh, err := config.ParseShard(flag)
		s.shard = sh
		return err
	}
	sh, ok, err := config.ShardFromEnv(s.getenv)
	if ok {
		s.shard = sh
	}
	return err
}

// eachShard is how a command that reads the whole collection (verify,
// show) goes through it: read is called for the shard named, or for every
// shard of the backend in turn, with the count of shards it is called for
// and a copy of the matter that its shard's working folder replaces. It
// stops at the first exit code that is not exitOK.
func eachShard(s *streams, m *config.Matter, read func(sh config.Shard, count int, one *config.Matter) int) int {
	shards, code := shardsToRead(s, m)
	if code != exitOK {
		return code
	}
	for _, sh := range shards {
		s.shard = sh
		one := *m
		code := read(sh, len(shards), &one)
		if err := s.closeRemote(); err != nil && code == exitOK {
			s.errorf("Cannot read the backend", "%s", sentence(err.Error()))
			code = exitError
		}
		if code != exitOK {
			return code
		}
	}
	return exitOK
}

// shardsToRead is what a command that reads the whole collection (verify,
// show) goes through: the shard named, or every shard of the backend.
func shardsToRead(s *streams, m *config.Matter) ([]config.Shard, int) {
	if m.Backend.Type == "" || s.shard.Sharded() {
		return []config.Shard{s.shard}, exitOK
	}
	ctx := context.Background()
	st, err := openBackend(ctx, s, m)
	if err != nil {
		s.errorf("Cannot open the backend", "%s", sentence(err.Error()))
		return nil, exitError
	}
	l, found, err := workspace.ReadLayout(ctx, st)
	if err != nil {
		s.errorf("Cannot read the backend", "%s", sentence(err.Error()))
		return nil, exitError
	}
	if !found || l.Shards == 1 {
		return []config.Shard{s.shard}, exitOK
	}
	out := make([]config.Shard, l.Shards)
	for i := range out {
		out[i] = config.Shard{Index: i + 1, Count: l.Shards}
	}
	return out, exitOK
}

// custodyOrigin names the matter's custody log in its checkpoints. Each
// shard of a backend's collection keeps a log of its own manifest, named
// by the shard so that no two logs' checkpoints can be taken for forks
// of one another.
func (s *streams) custodyOrigin(m *config.Matter) string {
	o := custody.Origin(m.Name)
	if s.remote != nil && s.remote.shard.Count > 1 {
		o += "/shard-" + s.remote.shard.Name()
	}
	return o
}

// backendCheck is doctor's check of a backend: it signs in to it and
// reads its layout, writing nothing.
func backendCheck(s *streams, m *config.Matter) doctorCheck {
	ctx := context.Background()
	c := doctorCheck{Check: "backend", Status: statusFail}
	st, err := openBackend(ctx, s, m)
	if err != nil {
		c.Message = sentence(err.Error())
		return c
	}
	l, found, err := workspace.ReadLayout(ctx, st)
	if err != nil {
		c.Message = sentence(err.Error())
		return c
	}
	shards, err := workspace.Shards(ctx, st)
	if err != nil {
		c.Message = sentence(err.Error())
		return c
	}
	c.Status = statusOK
	switch {
	case !found:
		c.Message = fmt.Sprintf("%s is reachable and holds no collection yet.", st)
	default:
		c.Message = fmt.Sprintf("%s is reachable and holds a collection in %s, %d of them with a state.", st, plural(l.Shards, "shard", "shards"), len(shards))
	}
	return c
}
