// Package backendtest is the conformance suite every backend.Store passes:
// the folder implementation and Azure Blob Storage are held to the same
// behaviour, so the collection code above them can rely on it.
//
// A store's tests call Run (one handle on each store) or RunShared (a second
// handle on the same store, as a second process would hold it). A store
// whose harness can end a lease from outside implements Breaker on the
// store that open returns, and the suite then checks how a lost lease shows.
package backendtest

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/backend"
)

// Breaker ends the lease on name from outside its holder, at once, as another
// client breaking an Azure blob lease (break period 0) does. A harness
// implements it on the store that open returns (embedding the store is
// enough).
type Breaker interface {
	Break(ctx context.Context, name string) error
}

// LostLeaseWait bounds how long the suite waits for a broken lease to show
// in Lease.Err; a store that renews its lease in the background notices a
// break at its next renewal at the latest.
var LostLeaseWait = 90 * time.Second

// Run runs the suite. open returns a new, empty store each call. Where a
// test needs a second holder it uses the same handle, which must conflict
// with itself: each Lock is its own lease.
func Run(t *testing.T, open func(t *testing.T) backend.Store) {
	RunShared(t, open, func(t *testing.T, s backend.Store) backend.Store { return s })
}

// RunShared runs the suite with reopen giving a second handle on the store
// s (another client, another open of the same folder), as a second process
// would see it. Every test that involves two holders or a reader beside a
// writer uses it.
func RunShared(t *testing.T, open func(t *testing.T) backend.Store, reopen func(t *testing.T, s backend.Store) backend.Store) {
	h := harness{open: open, reopen: reopen}
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, harness)
	}{
		{"PutOnceRoundTrip", testPutOnceRoundTrip},
		{"PutOnceTaken", testPutOnceTaken},
		{"PutOnceRace", testPutOnceRace},
		{"PutOnceNoPartialRead", testPutOnceNoPartialRead},
		{"PutOnceWrongMD5", testPutOnceWrongMD5},
		{"Missing", testMissing},
		{"List", testList},
		{"ListStops", testListStops},
		{"LockCreatesEmpty", testLockCreatesEmpty},
		{"LockHeld", testLockHeld},
		{"LockNamesAreIndependent", testLockNamesAreIndependent},
		{"Replace", testReplace},
		{"ReleaseTwice", testReleaseTwice},
		{"LeaseBroken", testLeaseBroken},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

type harness struct {
	open   func(t *testing.T) backend.Store
	reopen func(t *testing.T, s backend.Store) backend.Store
}

// Names in the shapes the collection uses.
const (
	nativeName = "natives/ab/ab0f3c5d9e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c.eml"
	stateName  = "shards/1-of-2/state.db"
	layoutName = "layout.json"
)

func sum(b []byte) []byte {
	s := md5.Sum(b)
	return s[:]
}

func put(t *testing.T, s backend.Store, name string, data []byte, meta map[string]string) {
	t.Helper()
	if err := s.PutOnce(t.Context(), name, bytes.NewReader(data), int64(len(data)), sum(data), meta); err != nil {
		t.Fatalf("PutOnce(%s): %v", name, err)
	}
}

func read(t *testing.T, s backend.Store, name string) []byte {
	t.Helper()
	rc, err := s.Open(t.Context(), name)
	if err != nil {
		t.Fatalf("Open(%s): %v", name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %s: %v", name, err)
	}
	return b
}

// checkObject asserts that name holds exactly data, and meta when meta is
// not nil, through Stat and Open.
func checkObject(t *testing.T, s backend.Store, name string, data []byte, meta map[string]string) {
	t.Helper()
	info, err := s.Stat(t.Context(), name)
	if err != nil {
		t.Fatalf("Stat(%s): %v", name, err)
	}
	if info.Name != name {
		t.Errorf("Stat(%s).Name = %q", name, info.Name)
	}
	if info.Size != int64(len(data)) {
		t.Errorf("Stat(%s).Size = %d, want %d", name, info.Size, len(data))
	}
	if info.MD5 != nil && !bytes.Equal(info.MD5, sum(data)) {
		t.Errorf("Stat(%s).MD5 = %x, want %x", name, info.MD5, sum(data))
	}
	if meta != nil && !sameMeta(info.Metadata, meta) {
		t.Errorf("Stat(%s).Metadata = %v, want %v", name, info.Metadata, meta)
	}
	if info.Modified.IsZero() {
		t.Errorf("Stat(%s).Modified is zero", name)
	}
	if got := read(t, s, name); !bytes.Equal(got, data) {
		t.Errorf("Open(%s) gave %d bytes %.40q, want %d bytes %.40q", name, len(got), got, len(data), data)
	}
}

func sameMeta(got, want map[string]string) bool {
	if len(got) == 0 && len(want) == 0 {
		return true
	}
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

func testPutOnceRoundTrip(t *testing.T, h harness) {
	s := h.open(t)
	objects := []struct {
		name string
		data []byte
		meta map[string]string
	}{
		{nativeName, []byte("From: a@example.com\r\nSubject: hello\r\n\r\nbody\r\n"),
			map[string]string{"sha256": "ab0f3c5d", "custodian": "a"}},
		{stateName, bytes.Repeat([]byte{0, 1, 2, 0xff}, 64<<10), map[string]string{"shard": "1"}},
		{"shards/1-of-2/manifest/1-20.jsonl", []byte("{\"seq\":1}\n"), nil},
		{layoutName, []byte{}, map[string]string{"shards": "2"}},
	}
	for _, o := range objects {
		put(t, s, o.name, o.data, o.meta)
	}
	other := h.reopen(t, s)
	for _, o := range objects {
		checkObject(t, s, o.name, o.data, o.meta)
		checkObject(t, other, o.name, o.data, o.meta)
	}
}

func testPutOnceTaken(t *testing.T, h harness) {
	s := h.open(t)
	first, meta := []byte("the first bytes"), map[string]string{"writer": "first"}
	put(t, s, nativeName, first, meta)
	for _, w := range []backend.Store{s, h.reopen(t, s)} {
		second := []byte("other bytes of another size")
		err := w.PutOnce(t.Context(), nativeName, bytes.NewReader(second), int64(len(second)), sum(second),
			map[string]string{"writer": "second"})
		if !errors.Is(err, backend.ErrExists) {
			t.Fatalf("PutOnce of a taken name: %v, want ErrExists", err)
		}
		// The same bytes again are refused too: the caller compares.
		err = w.PutOnce(t.Context(), nativeName, bytes.NewReader(first), int64(len(first)), sum(first), meta)
		if !errors.Is(err, backend.ErrExists) {
			t.Fatalf("PutOnce of a taken name with its own bytes: %v, want ErrExists", err)
		}
	}
	checkObject(t, s, nativeName, first, meta)
}

func testPutOnceRace(t *testing.T, h harness) {
	s := h.open(t)
	const writers = 8
	stores := []backend.Store{s, h.reopen(t, s)}
	errs := make([]error, writers)
	payload := func(i int) []byte {
		return bytes.Repeat([]byte(fmt.Sprintf("writer %d|", i)), 1000+i*100)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			data := payload(i)
			errs[i] = stores[i%2].PutOnce(t.Context(), stateName, bytes.NewReader(data), int64(len(data)), sum(data),
				map[string]string{"writer": fmt.Sprint(i)})
		}()
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("writers %d and %d both wrote %s", winner, i, stateName)
		case err == nil:
			winner = i
		case !errors.Is(err, backend.ErrExists):
			t.Fatalf("writer %d: %v, want nil or ErrExists", i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("no writer of %d succeeded: %v", writers, errs)
	}
	checkObject(t, s, stateName, payload(winner), map[string]string{"writer": fmt.Sprint(winner)})
}

// gatedReader hands out the first half of its bytes, then waits until the
// test lets it go on, so that the test can look at the store mid-write.
// It hides bytes.Reader's WriteTo so that every byte goes through Read.
type gatedReader struct {
	r      *bytes.Reader
	half   int64
	midway chan struct{}
	goOn   chan struct{}
	once   sync.Once
}

func (g *gatedReader) Read(p []byte) (int, error) {
	pos := g.r.Size() - int64(g.r.Len())
	if pos < g.half && pos+int64(len(p)) > g.half {
		p = p[:g.half-pos]
	}
	if pos >= g.half {
		g.once.Do(func() { close(g.midway) })
		<-g.goOn
	}
	return g.r.Read(p)
}

func (g *gatedReader) Seek(offset int64, whence int) (int64, error) { return g.r.Seek(offset, whence) }

func testPutOnceNoPartialRead(t *testing.T, h harness) {
	s := h.open(t)
	reader := h.reopen(t, s)
	data := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	g := &gatedReader{r: bytes.NewReader(data), half: int64(len(data) / 2),
		midway: make(chan struct{}), goOn: make(chan struct{})}
	var letGo sync.Once
	release := func() { letGo.Do(func() { close(g.goOn) }) }
	t.Cleanup(release) // a failed check must not leave the writer waiting
	done := make(chan error, 1)
	go func() { done <- s.PutOnce(t.Context(), nativeName, g, int64(len(data)), sum(data), nil) }()
	select {
	case <-g.midway:
	case err := <-done:
		t.Fatalf("PutOnce returned before reading its bytes: %v", err)
	}
	// Half the bytes are written: the object must not be there at all.
	if _, err := reader.Stat(t.Context(), nativeName); !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("Stat mid-write: %v, want ErrNotFound", err)
	}
	if rc, err := reader.Open(t.Context(), nativeName); !errors.Is(err, backend.ErrNotFound) {
		if err == nil {
			b, _ := io.ReadAll(rc)
			rc.Close()
			t.Fatalf("Open mid-write gave %d of %d bytes, want ErrNotFound", len(b), len(data))
		}
		t.Fatalf("Open mid-write: %v, want ErrNotFound", err)
	}
	if names := listNames(t, reader, ""); len(names) != 0 {
		t.Fatalf("List mid-write shows %v, want nothing", names)
	}
	// Readers racing the end of the write see nothing or the whole object.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			rc, err := reader.Open(t.Context(), nativeName)
			if errors.Is(err, backend.ErrNotFound) {
				continue
			}
			if err != nil {
				t.Errorf("Open during PutOnce: %v", err)
				return
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || !bytes.Equal(b, data) {
				t.Errorf("Open during PutOnce gave %d of %d bytes (err %v)", len(b), len(data), err)
			}
			return
		}
	}()
	release()
	if err := <-done; err != nil {
		t.Fatalf("PutOnce: %v", err)
	}
	close(stop)
	wg.Wait()
	checkObject(t, reader, nativeName, data, nil)
}

func testPutOnceWrongMD5(t *testing.T, h harness) {
	s := h.open(t)
	data, other := []byte("the bytes of the message"), []byte("not the bytes of the message")
	err := s.PutOnce(t.Context(), nativeName, bytes.NewReader(data), int64(len(data)), sum(other), nil)
	if err == nil {
		t.Fatal("PutOnce with the MD5 of other bytes succeeded")
	}
	if errors.Is(err, backend.ErrExists) {
		t.Fatalf("PutOnce with a wrong MD5: %v, which says ErrExists", err)
	}
	if _, err := s.Stat(t.Context(), nativeName); !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("Stat after a refused PutOnce: %v, want ErrNotFound", err)
	}
	if names := listNames(t, s, ""); len(names) != 0 {
		t.Fatalf("List after a refused PutOnce shows %v", names)
	}
	// The refused write took nothing: the right bytes can still be written.
	put(t, s, nativeName, data, nil)
	checkObject(t, s, nativeName, data, nil)
}

func testMissing(t *testing.T, h harness) {
	s := h.open(t)
	put(t, s, "natives/ab/present.eml", []byte("x"), nil)
	for _, name := range []string{"natives/ab/absent.eml", stateName, layoutName, "natives/ab"} {
		if _, err := s.Stat(t.Context(), name); !errors.Is(err, backend.ErrNotFound) {
			t.Errorf("Stat(%s): %v, want ErrNotFound", name, err)
		}
		if rc, err := s.Open(t.Context(), name); !errors.Is(err, backend.ErrNotFound) {
			if rc != nil {
				rc.Close()
			}
			t.Errorf("Open(%s): %v, want ErrNotFound", name, err)
		}
		if info, held, err := s.Holder(t.Context(), name); err != nil || held {
			t.Errorf("Holder(%s) = %v, %v, %v; want not held", name, info, held, err)
		}
	}
}

func listNames(t *testing.T, s backend.Store, prefix string) []string {
	t.Helper()
	var names []string
	err := s.List(t.Context(), prefix, func(i backend.Info) error {
		names = append(names, i.Name)
		return nil
	})
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return names
}

func testList(t *testing.T, h harness) {
	s := h.open(t)
	// Written out of order, with names whose order differs from a walk of
	// folders ("a-b" sorts before "a/1", '-' < '/').
	names := []string{"b/1", "a/2", "a-b", "a/b/c", "a/1", nativeName, "natives/ab/0.eml", "natives/ac/1.eml", stateName, layoutName}
	data := map[string][]byte{}
	for i, n := range names {
		data[n] = bytes.Repeat([]byte{byte('a' + i)}, i+1)
		put(t, s, n, data[n], map[string]string{"n": fmt.Sprint(i)})
	}
	lock(t, s, "shards/2-of-2/state.db", lockInfo("apply"))
	all := append(slices.Clone(names), "shards/2-of-2/state.db")
	slices.Sort(all)
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"", all},
		{"a/", []string{"a/1", "a/2", "a/b/c"}},
		{"a", []string{"a-b", "a/1", "a/2", "a/b/c"}},
		{"a/b", []string{"a/b/c"}},
		{"natives/ab/", []string{"natives/ab/0.eml", nativeName}},
		{"natives/", []string{"natives/ab/0.eml", nativeName, "natives/ac/1.eml"}},
		{"shards/", []string{stateName, "shards/2-of-2/state.db"}},
		{"layout.json", []string{layoutName}},
		{"zz", nil},
		{"natives/ad/", nil},
	} {
		other := h.reopen(t, s)
		if got := listNames(t, other, tc.prefix); !slices.Equal(got, tc.want) {
			t.Errorf("List(%q) = %q, want %q", tc.prefix, got, tc.want)
		}
	}
	// What List says of an object is what Stat says.
	err := s.List(t.Context(), "", func(i backend.Info) error {
		st, err := s.Stat(t.Context(), i.Name)
		if err != nil {
			return err
		}
		if i.Size != st.Size || !bytes.Equal(i.MD5, st.MD5) {
			t.Errorf("List gives %s size %d MD5 %x, Stat size %d MD5 %x", i.Name, i.Size, i.MD5, st.Size, st.MD5)
		}
		if d, ok := data[i.Name]; ok && i.Size != int64(len(d)) {
			t.Errorf("List gives %s size %d, want %d", i.Name, i.Size, len(d))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
}

func testListStops(t *testing.T, h harness) {
	s := h.open(t)
	for _, n := range []string{"runs/1.json", "runs/2.json", "runs/3.json", "runs/4.json"} {
		put(t, s, n, []byte(n), nil)
	}
	stop := errors.New("enough")
	var seen []string
	err := s.List(t.Context(), "runs/", func(i backend.Info) error {
		seen = append(seen, i.Name)
		if len(seen) == 2 {
			return fmt.Errorf("after %s: %w", i.Name, stop)
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("List returned %v, want fn's error", err)
	}
	if want := []string{"runs/1.json", "runs/2.json"}; !slices.Equal(seen, want) {
		t.Fatalf("List called fn for %q after its error, want %q", seen, want)
	}
}

// lockInfo is a holder as a command records it; Created is whole seconds so
// that a store keeping it as text gives it back exactly.
func lockInfo(op string) backend.LockInfo {
	return backend.LockInfo{
		Operation: op,
		Who:       op + "-runner@host-" + op,
		Version:   "1.2.3-" + op,
		Created:   time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC),
	}
}

func lock(t *testing.T, s backend.Store, name string, info backend.LockInfo) backend.Lease {
	t.Helper()
	l, err := s.Lock(t.Context(), name, info)
	if err != nil {
		t.Fatalf("Lock(%s): %v", name, err)
	}
	t.Cleanup(func() { l.Release(context.Background()) })
	return l
}

func testLockCreatesEmpty(t *testing.T, h harness) {
	s := h.open(t)
	l := lock(t, s, stateName, lockInfo("apply"))
	checkObject(t, h.reopen(t, s), stateName, nil, nil)
	if err := l.Release(t.Context()); err != nil {
		t.Fatalf("Release: %v", err)
	}
	checkObject(t, s, stateName, nil, nil)

	// An object that exists keeps its bytes when it is locked.
	data := []byte("a state file")
	put(t, s, "shards/2-of-2/state.db", data, nil)
	lock(t, s, "shards/2-of-2/state.db", lockInfo("apply"))
	checkObject(t, s, "shards/2-of-2/state.db", data, nil)
}

// checkHolder asserts that got names the holder want of name.
func checkHolder(t *testing.T, what string, got, want backend.LockInfo, name string) {
	t.Helper()
	if got.Operation != want.Operation || got.Who != want.Who || got.Version != want.Version ||
		!got.Created.Equal(want.Created) || got.Path != name || got.ID == "" {
		t.Errorf("%s = %+v, want %+v with Path %q and an ID", what, got, want, name)
	}
}

func testLockHeld(t *testing.T, h harness) {
	s := h.open(t)
	other := h.reopen(t, s)
	apply := lockInfo("apply")
	l := lock(t, s, stateName, apply)
	if err := l.Err(); err != nil {
		t.Fatalf("Err of a held lease: %v", err)
	}

	_, err := other.Lock(t.Context(), stateName, lockInfo("plan"))
	var held *backend.HeldError
	if !errors.As(err, &held) {
		t.Fatalf("second Lock: %v, want a *backend.HeldError", err)
	}
	checkHolder(t, "HeldError.Holder", held.Holder, apply, stateName)
	if held.Name != stateName || held.Store == "" {
		t.Errorf("HeldError names %q in %q, want %q in the store", held.Name, held.Store, stateName)
	}

	info, ok, err := other.Holder(t.Context(), stateName)
	if err != nil || !ok {
		t.Fatalf("Holder = %v, %v, want the holder", ok, err)
	}
	checkHolder(t, "Holder", info, apply, stateName)
	if info.ID != held.Holder.ID {
		t.Errorf("Holder's ID %q differs from HeldError's %q", info.ID, held.Holder.ID)
	}
	// Asking did not take it.
	if err := l.Err(); err != nil {
		t.Fatalf("Err after Holder: %v", err)
	}
	if _, err := other.Lock(t.Context(), stateName, lockInfo("plan")); !errors.As(err, &held) {
		t.Fatalf("Lock after Holder: %v, want a *backend.HeldError", err)
	}

	if err := l.Release(t.Context()); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if _, ok, err := other.Holder(t.Context(), stateName); err != nil || ok {
		t.Fatalf("Holder after Release = %v, %v, want none", ok, err)
	}
	plan := lockInfo("plan")
	l2 := lock(t, other, stateName, plan)
	if _, err := s.Lock(t.Context(), stateName, apply); !errors.As(err, &held) {
		t.Fatalf("Lock while the second holder has it: %v, want a *backend.HeldError", err)
	}
	checkHolder(t, "HeldError.Holder", held.Holder, plan, stateName)
	if err := l2.Err(); err != nil {
		t.Fatalf("Err of the second lease: %v", err)
	}
}

func testLockNamesAreIndependent(t *testing.T, h harness) {
	s := h.open(t)
	other := h.reopen(t, s)
	names := []string{"shards/1-of-2/state.db", "shards/2-of-2/state.db", "shards/1-of-2/state.db.bak", "shards/10-of-20/state.db"}
	for i, n := range names {
		who := []backend.Store{s, other}[i%2]
		l := lock(t, who, n, lockInfo(fmt.Sprintf("apply%d", i)))
		if err := l.Err(); err != nil {
			t.Fatalf("Err of the lease on %s: %v", n, err)
		}
	}
	for i, n := range names {
		info, ok, err := s.Holder(t.Context(), n)
		if err != nil || !ok {
			t.Fatalf("Holder(%s) = %v, %v", n, ok, err)
		}
		checkHolder(t, "Holder("+n+")", info, lockInfo(fmt.Sprintf("apply%d", i)), n)
	}
}

func testReplace(t *testing.T, h harness) {
	s := h.open(t)
	reader := h.reopen(t, s)
	l := lock(t, s, stateName, lockInfo("apply"))
	for i, data := range [][]byte{
		bytes.Repeat([]byte("first state "), 10000),
		[]byte("a smaller second state"),
		{},
		bytes.Repeat([]byte{7}, 200<<10),
	} {
		if err := l.Replace(t.Context(), bytes.NewReader(data), int64(len(data)), sum(data)); err != nil {
			t.Fatalf("Replace %d: %v", i, err)
		}
		checkObject(t, reader, stateName, data, nil)
	}
	last := bytes.Repeat([]byte{7}, 200<<10)

	wrong := []byte("bytes that do not match")
	if err := l.Replace(t.Context(), bytes.NewReader(wrong), int64(len(wrong)), sum(last)); err == nil {
		t.Fatal("Replace with the MD5 of other bytes succeeded")
	}
	checkObject(t, reader, stateName, last, nil)
	if err := l.Err(); err != nil {
		t.Fatalf("Err after a refused Replace: %v", err)
	}

	if err := l.Release(t.Context()); err != nil {
		t.Fatalf("Release: %v", err)
	}
	late := []byte("written after the release")
	if err := l.Replace(t.Context(), bytes.NewReader(late), int64(len(late)), sum(late)); !errors.Is(err, backend.ErrLeaseLost) {
		t.Fatalf("Replace after Release: %v, want ErrLeaseLost", err)
	}
	checkObject(t, reader, stateName, last, nil)
}

func testReleaseTwice(t *testing.T, h harness) {
	s := h.open(t)
	l, err := s.Lock(t.Context(), stateName, lockInfo("apply"))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Release(t.Context()); err != nil {
		t.Fatalf("Release: %v", err)
	}
	_ = l.Release(t.Context()) // an error or nothing, but no panic
	// The second Release took nothing from a new holder.
	l2 := lock(t, h.reopen(t, s), stateName, lockInfo("plan"))
	_ = l.Release(t.Context())
	if err := l2.Err(); err != nil {
		t.Fatalf("the new holder's lease after an old Release: %v", err)
	}
	if _, err := s.Lock(t.Context(), stateName, lockInfo("apply")); err == nil {
		t.Fatal("Lock succeeded while the new holder has it")
	}
}

func testLeaseBroken(t *testing.T, h harness) {
	s := h.open(t)
	b, ok := s.(Breaker)
	if !ok {
		t.Skipf("%s cannot break a lease from outside its holder", s)
	}
	data := []byte("state before the break")
	put(t, s, stateName, data, nil)
	l := lock(t, s, stateName, lockInfo("apply"))
	if err := l.Err(); err != nil {
		t.Fatalf("Err before the break: %v", err)
	}
	if err := b.Break(t.Context(), stateName); err != nil {
		t.Fatalf("Break: %v", err)
	}
	deadline := time.Now().Add(LostLeaseWait)
	for l.Err() == nil {
		if time.Now().After(deadline) {
			t.Fatalf("Err still nil %s after the lease was broken", LostLeaseWait)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := l.Err(); !errors.Is(err, backend.ErrLeaseLost) {
		t.Fatalf("Err after the break: %v, want ErrLeaseLost", err)
	}
	late := []byte("written after the break")
	if err := l.Replace(t.Context(), bytes.NewReader(late), int64(len(late)), sum(late)); !errors.Is(err, backend.ErrLeaseLost) {
		t.Fatalf("Replace after the break: %v, want ErrLeaseLost", err)
	}
	checkObject(t, s, stateName, data, nil)

	// Another holder can take it, and the old lease's Release leaves it be.
	other := h.reopen(t, s)
	l2 := lock(t, other, stateName, lockInfo("plan"))
	if err := l.Release(t.Context()); !errors.Is(err, backend.ErrLeaseLost) {
		t.Errorf("Release of a broken lease: %v, want its ErrLeaseLost", err)
	}
	if err := l2.Err(); err != nil {
		t.Fatalf("the new holder's lease after the old one's Release: %v", err)
	}
	info, held, err := s.Holder(t.Context(), stateName)
	if err != nil || !held {
		t.Fatalf("Holder = %v, %v", held, err)
	}
	checkHolder(t, "Holder", info, lockInfo("plan"), stateName)
}
