package entra

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/collect-ediscovery/collect/graph"
	"github.com/collect-ediscovery/collect/internal/durable"
)

// TokenCache keeps delegated sign-ins on disk, one file per login
// authority, tenant and app registration, holding the account that signed
// in and its refresh token, and nothing else (never an access token). The
// folder is created 0700 and the files 0600; a file that others may read
// or write is refused, not used.
type TokenCache struct {
	Dir string // for example os.UserCacheDir()/collect/signin
}

// CachedSignIn is one cached delegated sign-in.
type CachedSignIn struct {
	Version      int       `json:"version"`
	LoginURL     string    `json:"login_url"`
	Tenant       string    `json:"tenant"`
	ClientID     string    `json:"client_id"`
	Account      string    `json:"account"`
	RefreshToken string    `json:"refresh_token"`
	SavedAt      time.Time `json:"saved_at"`
}

// ErrNotSignedIn is what the error of Load wraps when no sign-in is cached.
var ErrNotSignedIn = errors.New("not signed in")

// Path is the file that holds the sign-in for the authority.
func (c TokenCache) Path(a Authority) string {
	login := strings.ToLower(strings.TrimRight(a.LoginURL, "/"))
	if login == "" {
		login = strings.ToLower(DefaultLoginURL)
	}
	sum := sha256.Sum256([]byte(login + "\n" + strings.ToLower(a.Tenant) + "\n" + strings.ToLower(a.ClientID)))
	return filepath.Join(c.Dir, "signin-"+hex.EncodeToString(sum[:12])+".json")
}

// Load reads the cached sign-in of the authority. Its errors are
// *graph.Error: graph.KindLoginRequired when there is none (wrapping
// ErrNotSignedIn) or it is damaged, graph.KindTokenCacheUnsafe when other
// users could read or replace it.
func (c TokenCache) Load(a Authority) (*CachedSignIn, error) {
	if c.Dir == "" {
		return nil, errors.New("no token cache folder: set COLLECT_CACHE_DIR or a home folder")
	}
	fail := func(kind graph.Kind, cause error, format string, args ...any) (*CachedSignIn, error) {
		return nil, &graph.Error{Op: "read the cached sign-in", Kind: kind, Message: fmt.Sprintf(format, args...), Err: cause}
	}
	p := c.Path(a)
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return fail(graph.KindLoginRequired, ErrNotSignedIn, "not signed in to tenant %s with app %s on this computer", a.Tenant, a.ClientID)
	}
	if err != nil {
		return fail(graph.KindOther, err, "cannot read the token cache: %v", err)
	}
	if !fi.Mode().IsRegular() {
		return fail(graph.KindTokenCacheUnsafe, nil, "the token cache %s is not a regular file", p)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return fail(graph.KindTokenCacheUnsafe, nil, "the token cache %s can be read or written by other users (mode %04o), so collect does not use it",
			p, fi.Mode().Perm())
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return fail(graph.KindOther, err, "cannot read the token cache: %v", err)
	}
	var rec CachedSignIn
	if err := json.Unmarshal(b, &rec); err != nil || rec.RefreshToken == "" {
		return fail(graph.KindLoginRequired, nil, "the token cache %s is damaged", p)
	}
	return &rec, nil
}

// Save writes the sign-in with 0600 permissions, whole or not at all,
// even across a crash.
func (c TokenCache) Save(a Authority, rec CachedSignIn) error {
	if c.Dir == "" {
		return errors.New("no token cache folder: set COLLECT_CACHE_DIR or a home folder")
	}
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return fmt.Errorf("create the token cache folder: %v", err)
	}
	rec.Version = 1
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	if err := durable.WriteFile(c.Path(a), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write the token cache: %v", err)
	}
	return nil
}

// Remove deletes the cached sign-in; it reports whether there was one.
func (c TokenCache) Remove(a Authority) (bool, error) {
	if c.Dir == "" {
		return false, nil
	}
	err := os.Remove(c.Path(a))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("remove the token cache: %v", err)
	}
	return true, nil
}
