package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// Staged is a message written to a temp file and hashed, but not yet
// durable nor in place. Seal makes a batch of them durable at once, which
// costs two file-system syncs per batch instead of two per message.
type Staged struct {
	tmp    string
	native Native
}

// Native is what the message will be once sealed.
func (st *Staged) Native() Native { return st.native }

// Stage writes the bytes produce streams to a temp file in the output
// folder and hashes them, without syncing. Nothing is evidence until Seal
// returns; a staged message never sealed is a temp file that Discard or
// Clean removes. On error nothing is left behind.
func (s *Store) Stage(ctx context.Context, expectedSize int64, produce Produce) (*Staged, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	tmp := filepath.Join(s.dir, filepath.FromSlash(TempDir), TempPrefix+randText())
	s.mu.Lock()
	s.inFlight[tmp] = struct{}{}
	s.mu.Unlock()
	n, err := s.writeFile(ctx, tmp, expectedSize, produce)
	if err != nil {
		s.forget(tmp)
		if rerr := os.Remove(tmp); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = errors.Join(err, fmt.Errorf("removing the partial file %s failed (Clean removes it on the next run): %w", s.rel(tmp), rerr))
		}
		return nil, err
	}
	return &Staged{tmp: tmp, native: n}, nil
}

// Discard removes a staged message that will not be sealed.
func (s *Store) Discard(st *Staged) {
	os.Remove(st.tmp)
	s.forget(st.tmp)
}

func (s *Store) forget(tmp string) {
	s.mu.Lock()
	delete(s.inFlight, tmp)
	s.mu.Unlock()
}

// Seal makes staged messages durable and puts each at its content
// address: one sync of the file system makes every temp file's bytes
// durable, then each is renamed into place (or dropped when identical
// bytes are already stored), then a second sync makes the names durable.
// Only after Seal returns may the caller record the natives. The result
// has one Native or one error per staged message, in order.
func (s *Store) Seal(staged []*Staged) ([]Native, []error) {
	natives := make([]Native, len(staged))
	errs := make([]error, len(staged))
	if len(staged) == 0 {
		return natives, errs
	}
	defer func() {
		for _, st := range staged {
			s.forget(st.tmp)
		}
	}()
	failAll := func(err error) ([]Native, []error) {
		for i, st := range staged {
			os.Remove(st.tmp)
			errs[i] = err
		}
		return natives, errs
	}
	tmps := make([]string, len(staged))
	for i, st := range staged {
		tmps[i] = st.tmp
	}
	if err := s.syncData(s.dir, tmps); err != nil {
		return failAll(diskFull(fmt.Errorf("store: syncing new natives: %w", err), s.dir, "sync", TempDir, lostMessage))
	}
	dirs := map[string]bool{}
	for i, st := range staged {
		n := st.native
		if err := s.place(st.tmp, &n); err != nil {
			os.Remove(st.tmp)
			errs[i] = err
			continue
		}
		natives[i] = n
		dirs[filepath.Dir(s.abs(n.Path))] = true
	}
	list := make([]string, 0, len(dirs)+1)
	for d := range dirs {
		list = append(list, d)
	}
	list = append(list, s.abs(NativesDir))
	if err := syncNames(s.dir, list); err != nil {
		err = diskFull(fmt.Errorf("store: syncing the natives folders: %w", err), s.dir, "sync", NativesDir, lostMessage)
		for i := range staged {
			if errs[i] == nil {
				// The names may not be durable: not evidence yet. A later
				// run fetches the message again and finds identical bytes.
				errs[i], natives[i] = err, Native{}
			}
		}
		return natives, errs
	}
	if s.publish != nil {
		s.publishAll(natives, errs)
	}
	return natives, errs
}

// publishAll hands every sealed native to the Publish hook, a few at a
// time and each file once (identical bytes in one batch share a file); a
// native it fails is that native's error.
func (s *Store) publishAll(natives []Native, errs []error) {
	const inFlight = 8
	byPath := map[string][]int{}
	var paths []string
	for i := range natives {
		if errs[i] != nil {
			continue
		}
		p := natives[i].Path
		if byPath[p] == nil {
			paths = append(paths, p)
		}
		byPath[p] = append(byPath[p], i)
	}
	sem := make(chan struct{}, inFlight)
	var wg sync.WaitGroup
	for _, p := range paths {
		idx := byPath[p]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			already, err := s.publish(natives[idx[0]], s.abs(p))
			for _, i := range idx {
				if err != nil {
					errs[i], natives[i] = err, Native{}
				} else if already {
					natives[i].Deduplicated = true
				}
			}
		}()
	}
	wg.Wait()
}
