package state

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The test binary doubles as a second process that holds the lock: run
// with STATE_TEST_HOLD set, it opens the state, says so on stdout, and
// keeps it open until its stdin is closed.
func TestMain(m *testing.M) {
	if path := os.Getenv("STATE_TEST_HOLD"); path != "" {
		os.Exit(holdLock(path, os.Getenv("STATE_TEST_READONLY") == "1"))
	}
	os.Exit(m.Run())
}

func holdLock(path string, readOnly bool) int {
	db, err := Open(path, Options{ReadOnly: readOnly, Operation: "apply", ToolVersion: "v9.9.9"})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	fmt.Println("holding", os.Getpid())
	io.Copy(io.Discard, os.Stdin)
	if err := db.Close(); err != nil {
		fmt.Println("error:", err)
		return 1
	}
	return 0
}

// holder is a second process holding the lock on a state file.
type holder struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	pid   int
}

func startHolder(t *testing.T, path string, readOnly bool) *holder {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "STATE_TEST_HOLD="+path)
	if readOnly {
		cmd.Env = append(cmd.Env, "STATE_TEST_READONLY=1")
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &holder{cmd: cmd, stdin: stdin}
	t.Cleanup(func() { h.release(t) })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if !strings.HasPrefix(line, "holding ") {
		t.Fatalf("helper process did not take the lock: %q %v", line, err)
	}
	h.pid, _ = strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "holding ")))
	return h
}

// release lets the helper close the state and waits for it to exit.
func (h *holder) release(t *testing.T) {
	if h.cmd.ProcessState != nil {
		return
	}
	h.stdin.Close()
	if err := h.cmd.Wait(); err != nil {
		t.Errorf("helper process: %v", err)
	}
}

func newStateFile(t *testing.T) string {
	t.Helper()
	path := statePath(t)
	db, err := Open(path, testOptions(newClock()))
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	return path
}

func TestLockHeldByAnotherProcess(t *testing.T) {
	path := newStateFile(t)
	h := startHolder(t, path, false)
	before, _ := os.ReadFile(path)
	for _, readOnly := range []bool{false, true} {
		opts := testOptions(newClock())
		opts.ReadOnly = readOnly
		_, err := Open(path, opts)
		var le *LockedError
		if !errors.As(err, &le) {
			t.Fatalf("read-only %v: Open while another process writes: %v", readOnly, err)
		}
		if le.Holder == nil || le.Holder.PID != h.pid || le.Holder.Operation != "apply" || le.Stale || le.Holder.Tool != "v9.9.9" {
			t.Fatalf("holder = %+v (stale %v), want pid %d", le.Holder, le.Stale, h.pid)
		}
		msg := err.Error()
		for _, want := range []string{path, fmt.Sprintf("pid %d", h.pid), "wait for it to finish", "since"} {
			if !strings.Contains(msg, want) {
				t.Errorf("message %q does not say %q", msg, want)
			}
		}
	}
	after, _ := os.ReadFile(path)
	if string(before) != string(after) {
		t.Error("a refused open changed the file")
	}
	// Without its lock file, a reader is still told a writer holds it.
	os.Rename(LockFilePath(path), LockFilePath(path)+".moved")
	_, err := Open(path, Options{ReadOnly: true})
	var le *LockedError
	if !errors.As(err, &le) || le.Holder != nil || !le.ReadOnly || !strings.Contains(err.Error(), "writing it") {
		t.Errorf("reader blocked by a writer without a lock file: %v", err)
	}
	os.Rename(LockFilePath(path)+".moved", LockFilePath(path))
	h.release(t)
	if _, err := os.Stat(LockFilePath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the holder's lock file is still there after it closed: %v", err)
	}
}

func TestLockTimeoutWaits(t *testing.T) {
	path := newStateFile(t)
	startHolder(t, path, false)
	opts := testOptions(newClock())
	opts.LockTimeout = 300 * time.Millisecond
	start := time.Now()
	_, err := Open(path, opts)
	waited := time.Since(start)
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("Open: %v", err)
	}
	// bbolt polls the lock every 50ms and gives up one poll early.
	if waited < 200*time.Millisecond || le.Waited < 200*time.Millisecond {
		t.Errorf("gave up after %s (reported %s), want about 300ms", waited, le.Waited)
	}
	// A zero timeout fails at once rather than waiting forever.
	opts.LockTimeout = 0
	start = time.Now()
	if _, err := Open(path, opts); !errors.As(err, &le) {
		t.Fatalf("Open with no timeout: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("a zero timeout waited %s", d)
	}
}

func TestLockTakenWhenReleased(t *testing.T) {
	path := newStateFile(t)
	h := startHolder(t, path, false)
	opts := testOptions(newClock())
	opts.LockTimeout = time.Minute
	type result struct {
		db  *DB
		err error
	}
	done := make(chan result)
	go func() {
		db, err := Open(path, opts)
		done <- result{db, err}
	}()
	h.release(t)
	r := <-done
	if r.err != nil {
		t.Fatalf("Open after the holder released: %v", r.err)
	}
	defer r.db.Close()
	got := readLockFile(path)
	if got == nil || got.PID != os.Getpid() || got.Operation != "apply" || !got.Since.Equal(newClock().Now()) {
		t.Fatalf("lock file after taking the lock: %+v", got)
	}
}

func TestSharedReadersCoexist(t *testing.T) {
	path := newStateFile(t)
	startHolder(t, path, true)
	ro := testOptions(newClock())
	ro.ReadOnly = true
	db, err := Open(path, ro)
	if err != nil {
		t.Fatalf("a second reader was refused: %v", err)
	}
	db.Close()
	// A writer must wait for readers; there is no lock file to name them.
	_, err = Open(path, testOptions(newClock()))
	var le *LockedError
	if !errors.As(err, &le) || le.Holder != nil || !strings.Contains(err.Error(), "reading") {
		t.Fatalf("writer while a reader holds the state: %v", err)
	}
}

// A lock file left by a process that died must neither block a writer nor
// be believed when someone else holds the lock.
func TestStaleLockFile(t *testing.T) {
	path := newStateFile(t)
	dead := exec.Command(os.Args[0], "-test.run=^$")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	stale := Holder{User: "bob", Host: mustHostname(t), PID: dead.ProcessState.Pid(), Operation: "apply", Since: time.Unix(1, 0)}
	b, _ := json.Marshal(stale)
	if err := os.WriteFile(LockFilePath(path), b, 0o600); err != nil {
		t.Fatal(err)
	}

	h := startHolder(t, path, true)
	_, err := Open(path, testOptions(newClock()))
	var le *LockedError
	if !errors.As(err, &le) || !le.Stale || le.Holder.PID != stale.PID || !strings.Contains(err.Error(), "left over") {
		t.Fatalf("writer with a stale lock file and a live reader: %v", err)
	}
	h.release(t)

	db, err := Open(path, testOptions(newClock()))
	if err != nil {
		t.Fatalf("writer with only a stale lock file: %v", err)
	}
	if got := readLockFile(path); got == nil || got.PID != os.Getpid() {
		t.Errorf("the stale lock file was not replaced: %+v", got)
	}
	db.Close()
	if _, err := os.Stat(LockFilePath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file left after Close: %v", err)
	}
}

func mustHostname(t *testing.T) string {
	h, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// Within one process the lock also holds: each Open is its own open file
// description, and flock locks those, not processes.
func TestLockWithinOneProcess(t *testing.T) {
	path := newStateFile(t)
	db := mustOpen(t, path, testOptions(newClock()))
	_, err := Open(path, testOptions(newClock()))
	var le *LockedError
	if !errors.As(err, &le) || le.Holder == nil || le.Holder.PID != os.Getpid() {
		t.Fatalf("second writer in the same process: %v", err)
	}
	db.Close()
	db2, err := Open(path, testOptions(newClock()))
	if err != nil {
		t.Fatalf("after Close: %v", err)
	}
	db2.Close()
}

// A holder killed outright leaves its lock file; the operating system
// released its lock, so the next writer takes the lock and replaces the
// lock file with its own.
func TestKilledHolder(t *testing.T) {
	path := newStateFile(t)
	h := startHolder(t, path, false)
	if err := h.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	h.cmd.Wait() // reports the kill
	left := readLockFile(path)
	if left == nil || left.PID != h.pid {
		t.Fatalf("the killed holder's lock file: %+v", left)
	}
	db, err := Open(path, testOptions(newClock()))
	if err != nil {
		t.Fatalf("open after the holder was killed: %v", err)
	}
	if got := readLockFile(path); got == nil || got.PID != os.Getpid() {
		t.Errorf("lock file not replaced: %+v", got)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}
