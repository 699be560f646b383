package store

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrGitUnsupported matches GitCommit errors for repositories whose refs it
// cannot read (the reftable ref format).
var ErrGitUnsupported = errors.New("unsupported git repository format")

// GitCommit returns the commit checked out in the git work tree that contains
// dir, read from the repository files (.git/HEAD, loose refs, packed-refs;
// a .git file of a linked worktree or submodule is followed) without running
// git. It returns "" and no error when dir is not inside a git work tree or
// the branch has no commit yet. It does not tell whether the work tree has
// uncommitted changes; the matter hash in the run record covers the content.
func GitCommit(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; {
		gitDir, found, err := findGitDir(d)
		if err != nil {
			return "", err
		}
		if found {
			return headCommit(gitDir)
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", nil
		}
		d = parent
	}
}

// findGitDir looks for d/.git as a folder or as a "gitdir: path" file.
func findGitDir(d string) (string, bool, error) {
	p := filepath.Join(d, ".git")
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("store: reading %s: %w", p, err)
	}
	if fi.IsDir() {
		return p, true, nil
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return "", false, fmt.Errorf("store: reading %s: %w", p, err)
	}
	line := strings.TrimSpace(string(data))
	target, ok := strings.CutPrefix(line, "gitdir:")
	if !ok {
		return "", false, fmt.Errorf("store: %s is neither a folder nor a \"gitdir:\" file", p)
	}
	target = strings.TrimSpace(target)
	if !filepath.IsAbs(target) {
		target = filepath.Join(d, target)
	}
	return target, true, nil
}

// headCommit resolves HEAD in gitDir. Per-worktree files (HEAD) live in
// gitDir; shared refs live in the common folder named by gitDir/commondir.
func headCommit(gitDir string) (string, error) {
	common := gitDir
	if data, err := os.ReadFile(filepath.Join(gitDir, "commondir")); err == nil {
		c := strings.TrimSpace(string(data))
		if !filepath.IsAbs(c) {
			c = filepath.Join(gitDir, c)
		}
		common = c
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("store: reading %s: %w", filepath.Join(gitDir, "commondir"), err)
	}
	if _, err := os.Stat(filepath.Join(common, "reftable")); err == nil {
		return "", fmt.Errorf("store: the git repository %s stores refs as reftable, which collect cannot read; the run record will carry no git commit unless the repository uses the files ref format: %w", common, ErrGitUnsupported)
	}

	name := "HEAD"
	for depth := 0; depth < 10; depth++ {
		value, found, err := readRef(gitDir, common, name)
		if err != nil {
			return "", err
		}
		if !found {
			return "", nil // a branch with no commit yet
		}
		if target, ok := strings.CutPrefix(value, "ref:"); ok {
			name = strings.TrimSpace(target)
			continue
		}
		if !isObjectID(value) {
			return "", fmt.Errorf("store: git ref %s in %s holds %q, not a commit id", name, common, value)
		}
		return value, nil
	}
	return "", fmt.Errorf("store: git ref %s in %s: too many levels of symbolic refs", name, common)
}

// readRef returns the content of a loose ref or its packed-refs value.
func readRef(gitDir, common, name string) (string, bool, error) {
	if strings.Contains(name, "..") || filepath.IsAbs(name) {
		return "", false, fmt.Errorf("store: git ref name %q is not valid", name)
	}
	dirs := []string{common}
	if name == "HEAD" || !strings.HasPrefix(name, "refs/") || strings.HasPrefix(name, "refs/worktree/") || strings.HasPrefix(name, "refs/bisect/") {
		dirs = []string{gitDir, common}
	}
	for _, d := range dirs {
		data, err := os.ReadFile(filepath.Join(d, filepath.FromSlash(name)))
		if err == nil {
			return strings.TrimSpace(string(data)), true, nil
		}
		if !errors.Is(err, fs.ErrNotExist) && !isDirErr(filepath.Join(d, filepath.FromSlash(name))) {
			return "", false, fmt.Errorf("store: reading git ref %s: %w", name, err)
		}
	}
	f, err := os.Open(filepath.Join(common, "packed-refs"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("store: reading git packed-refs: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' || line[0] == '^' {
			continue
		}
		id, ref, ok := strings.Cut(line, " ")
		if ok && ref == name {
			return id, true, nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", false, fmt.Errorf("store: reading git packed-refs: %w", err)
	}
	return "", false, nil
}

func isDirErr(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// isObjectID accepts SHA-1 (40) and SHA-256 (64) object ids in lower-case hex.
func isObjectID(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// GitWorkTree returns the top folder of the git work tree that holds dir,
// and false when dir is in none.
func GitWorkTree(dir string) (string, bool, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", false, err
	}
	for d := abs; ; {
		_, found, err := findGitDir(d)
		if err != nil || found {
			return d, found, err
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", false, nil
		}
		d = parent
	}
}
