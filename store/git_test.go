package store_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/collect-ediscovery/collect/store"
)

// git runs git in dir with a fixed identity and no user or system config.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull,
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func gitCommit(t *testing.T, dir string) string {
	t.Helper()
	c, err := store.GitCommit(dir)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestGitCommit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	repo := t.TempDir()
	git(t, repo, "init", "-q", "-b", "main")
	matter := filepath.Join(repo, "matters", "acme")
	os.MkdirAll(matter, 0o755)

	if c := gitCommit(t, matter); c != "" {
		t.Fatalf("unborn branch gave %q", c)
	}
	os.WriteFile(filepath.Join(matter, "main.collect.hcl"), []byte("matter \"acme\" {}\n"), 0o644)
	git(t, repo, "add", ".")
	git(t, repo, "commit", "-q", "-m", "first")
	first := git(t, repo, "rev-parse", "HEAD")
	if c := gitCommit(t, matter); c != first {
		t.Fatalf("loose ref: %q, want %q", c, first)
	}

	git(t, repo, "pack-refs", "--all")
	if _, err := os.Stat(filepath.Join(repo, ".git", "refs", "heads", "main")); !os.IsNotExist(err) {
		t.Fatalf("pack-refs left the loose ref: %v", err)
	}
	if c := gitCommit(t, matter); c != first {
		t.Fatalf("packed ref: %q, want %q", c, first)
	}

	git(t, repo, "commit", "-q", "--allow-empty", "-m", "second")
	second := git(t, repo, "rev-parse", "HEAD")
	if c := gitCommit(t, repo); c != second || second == first {
		t.Fatalf("after second commit: %q, want %q", c, second)
	}

	git(t, repo, "checkout", "-q", "--detach", first)
	if c := gitCommit(t, matter); c != first {
		t.Fatalf("detached HEAD: %q, want %q", c, first)
	}
	git(t, repo, "checkout", "-q", "main")

	// A linked worktree on another branch: .git is a file, refs live in the main repository.
	wt := filepath.Join(t.TempDir(), "wt")
	git(t, repo, "worktree", "add", "-q", "-b", "review", wt, first)
	git(t, wt, "commit", "-q", "--allow-empty", "-m", "in worktree")
	third := git(t, wt, "rev-parse", "HEAD")
	if fi, err := os.Stat(filepath.Join(wt, ".git")); err != nil || fi.IsDir() {
		t.Fatalf("worktree .git is not a file: %v", err)
	}
	if c := gitCommit(t, filepath.Join(wt, "matters", "acme")); c != third {
		t.Fatalf("worktree: %q, want %q", c, third)
	}
	if c := gitCommit(t, matter); c != second {
		t.Fatalf("main work tree after worktree commit: %q, want %q", c, second)
	}
}

func TestGitCommitOutsideRepository(t *testing.T) {
	dir := t.TempDir()
	// t.TempDir may itself sit inside a repository on a developer machine.
	if c, err := store.GitCommit(filepath.Dir(dir)); err != nil || c != "" {
		t.Skipf("the temp folder is inside a git work tree (%q, %v)", c, err)
	}
	if c, err := store.GitCommit(dir); err != nil || c != "" {
		t.Fatalf("got %q %v, want no commit", c, err)
	}
}

func TestGitCommitReftableIsExplicit(t *testing.T) {
	// The reftable ref format stores refs in a binary table; HEAD names a placeholder.
	repo := t.TempDir()
	gd := filepath.Join(repo, ".git")
	os.MkdirAll(filepath.Join(gd, "reftable"), 0o755)
	os.WriteFile(filepath.Join(gd, "HEAD"), []byte("ref: refs/heads/.invalid\n"), 0o644)
	_, err := store.GitCommit(repo)
	if !errors.Is(err, store.ErrGitUnsupported) {
		t.Fatalf("got %v, want ErrGitUnsupported", err)
	}
}

func TestGitCommitBadHead(t *testing.T) {
	repo := t.TempDir()
	gd := filepath.Join(repo, ".git")
	os.MkdirAll(gd, 0o755)
	os.WriteFile(filepath.Join(gd, "HEAD"), []byte("garbage\n"), 0o644)
	if _, err := store.GitCommit(repo); err == nil {
		t.Fatal("a HEAD that is neither a ref nor a commit id was accepted")
	}
}
