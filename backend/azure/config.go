// Package azure keeps a collection in Azure Blob Storage: a backend.Store
// whose objects are block blobs in one container under a prefix, written
// once with If-None-Match: *, and whose locks are blob leases with the
// holder recorded in the blob's metadata, as Terraform's azurerm backend
// does.
//
// The container must exist: Open checks it and, when it is missing, says
// how to create it. It does not create it, so that a mistyped container
// name fails at once instead of starting a second, empty collection beside
// the real one.
package azure

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/collect-ediscovery/collect/internal/clock"
)

// The environment variables ConfigFromEnv reads: the names the Azure CLI
// and Terraform's azurerm backend use.
const (
	EnvConnectionString = "AZURE_STORAGE_CONNECTION_STRING"
	EnvKey              = "AZURE_STORAGE_KEY"
	EnvAccount          = "AZURE_STORAGE_ACCOUNT"
)

// Azure's bounds on a fixed-duration blob lease.
const (
	MinLeaseDuration     = 15 * time.Second
	MaxLeaseDuration     = 60 * time.Second
	DefaultLeaseDuration = MaxLeaseDuration
)

// Config says which container holds the collection and how to sign in.
// Exactly one way of signing in is used: ConnectionString when set, else
// SharedKey, else Credential, else Entra ID through azidentity's default
// credential chain (environment, workload identity, managed identity,
// Azure CLI).
type Config struct {
	Account   string // storage account name; read from ConnectionString when empty
	Container string
	Prefix    string // folder inside the container; "" for its root

	// Endpoint is the blob service URL; empty means
	// https://<Account>.blob.core.windows.net/. Ignored with a
	// ConnectionString, which names its own endpoint.
	Endpoint string

	ConnectionString string // secret: never printed
	SharedKey        string // the account key, base64; secret: never printed

	// Credential signs in with Entra ID; nil means azidentity's default
	// credential when neither ConnectionString nor SharedKey is set.
	Credential azcore.TokenCredential

	// LeaseDuration is how long a lease lasts without a renewal, between
	// 15 s and 60 s in whole seconds; 0 means 60 s. A held lease is renewed
	// every third of it.
	LeaseDuration time.Duration

	// Clock times lease renewals; nil means the system clock.
	Clock clock.Clock
}

// ConfigFromEnv returns the sign-in settings found in the environment
// (getenv is os.Getenv in production): AZURE_STORAGE_CONNECTION_STRING,
// AZURE_STORAGE_KEY and AZURE_STORAGE_ACCOUNT. The caller sets the
// container and prefix, and may override the account.
func ConfigFromEnv(getenv func(string) string) Config {
	return Config{
		Account:          strings.TrimSpace(getenv(EnvAccount)),
		ConnectionString: strings.TrimSpace(getenv(EnvConnectionString)),
		SharedKey:        strings.TrimSpace(getenv(EnvKey)),
	}
}

// String describes the configuration without its secrets, so that a
// Config printed by mistake leaks nothing.
func (c Config) String() string {
	var auth string
	switch {
	case c.ConnectionString != "":
		auth = "connection string"
	case c.SharedKey != "":
		auth = "shared key"
	case c.Credential != nil:
		auth = "token credential"
	default:
		auth = "default Azure credential"
	}
	return fmt.Sprintf("azurerm: account %q, container %q, prefix %q, endpoint %q, signing in with a %s, lease %s",
		c.account(), c.Container, c.Prefix, c.Endpoint, auth, c.LeaseDuration)
}

// GoString keeps %#v from printing the secrets too.
func (c Config) GoString() string { return c.String() }

// account is the storage account's name, from the connection string when
// the config does not name it.
func (c Config) account() string {
	if c.Account != "" || c.ConnectionString == "" {
		return c.Account
	}
	for _, part := range strings.Split(c.ConnectionString, ";") {
		k, v, ok := strings.Cut(part, "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "AccountName") {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// check fills the defaults and says what is missing or out of bounds.
func (c Config) check() (Config, error) {
	if c.Container == "" {
		return c, errors.New("azurerm: no container given: name the blob container that holds the collection")
	}
	if c.ConnectionString == "" && c.Account == "" {
		return c, fmt.Errorf("azurerm: no storage account given: name it, or set %s or %s", EnvAccount, EnvConnectionString)
	}
	c.Account = c.account()
	if c.LeaseDuration == 0 {
		c.LeaseDuration = DefaultLeaseDuration
	}
	if c.LeaseDuration < MinLeaseDuration || c.LeaseDuration > MaxLeaseDuration || c.LeaseDuration%time.Second != 0 {
		return c, fmt.Errorf("azurerm: lease duration %s is not a whole number of seconds from %s to %s, as Azure requires",
			c.LeaseDuration, MinLeaseDuration, MaxLeaseDuration)
	}
	prefix, err := cleanPrefix(c.Prefix)
	if err != nil {
		return c, err
	}
	c.Prefix = prefix
	if c.Endpoint == "" {
		c.Endpoint = "https://" + c.Account + ".blob.core.windows.net/"
	}
	if !strings.HasSuffix(c.Endpoint, "/") {
		c.Endpoint += "/"
	}
	if c.Clock == nil {
		c.Clock = clock.System()
	}
	return c, nil
}

// cleanPrefix returns the prefix as blob names start with it: no leading
// slash, one trailing slash, or "" for the container's root.
func cleanPrefix(p string) (string, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		return "", nil
	}
	if err := checkName(p); err != nil {
		return "", fmt.Errorf("azurerm: prefix %q: %w", p, err)
	}
	return p + "/", nil
}

// checkName refuses names that would not map to one blob in the
// collection's own folder.
func checkName(name string) error {
	if name == "" {
		return errors.New("empty object name")
	}
	if len(name) > 1024 {
		return errors.New("object name longer than Azure's 1,024 characters")
	}
	for _, seg := range strings.Split(name, "/") {
		switch seg {
		case "":
			return errors.New("object name with an empty path segment (leading, trailing or double slash)")
		case ".", "..":
			return errors.New("object name with a . or .. path segment")
		}
	}
	if strings.ContainsRune(name, '\\') {
		return errors.New("object name with a backslash")
	}
	return nil
}
