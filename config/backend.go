package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Backend says where a matter's collection is kept when it is not the
// local output folder and state file: the backend block, as the
// environment and -backend-config options override it. It is not part of
// the matter's scope: moving a collection's storage does not change what
// is collected, so Hash leaves it out.
type Backend struct {
	Type           string // "" (the local output folder and state file, the default) or BackendAzureRM
	StorageAccount string
	Container      string
	// Prefix is a folder-like prefix inside the container, without a
	// leading or trailing slash; "" keeps the collection at the
	// container's root.
	Prefix string
	// Endpoint is the blob service URL, for sovereign clouds and Azurite;
	// "" means https://<account>.blob.core.windows.net/.
	Endpoint string
	Range    hcl.Range // the backend block, for diagnostics; zero when there is none
}

// BackendAzureRM is the type of the Azure Blob Storage backend.
const BackendAzureRM = "azurerm"

// Remote reports whether the collection is kept in a backend rather than
// in the local folder.
func (b Backend) Remote() bool { return b.Type != "" }

var backendTypes = []string{BackendAzureRM}

// backendKeys are the backend block's arguments, which are also the keys
// of -backend-config and, upper-cased, of COLLECT_BACKEND_*.
var backendKeys = []string{"storage_account", "container", "prefix", "endpoint"}

// backendCredentials are argument names that would hold a storage
// credential. They are refused with where the credential goes instead.
var backendCredentials = []string{
	"key", "access_key", "account_key", "storage_key", "connection_string", "sas_token", "sas",
	"client_secret", "client_certificate_password",
}

const backendCredentialHelp = "AZURE_STORAGE_KEY or AZURE_STORAGE_CONNECTION_STRING in the environment, or sign in " +
	"with Entra ID (workload identity, a managed identity or az login) and leave the credential out"

var backendSchema = &blockSchema{
	labels: []string{"type"},
	attrs: map[string]bool{
		"storage_account": false, "container": false, "prefix": false, "endpoint": false,
	},
	credentials:    backendCredentials,
	credentialHelp: backendCredentialHelp,
	singleton:      true,
}

// Environment variables that select and configure the backend.
const (
	EnvBackend              = "COLLECT_BACKEND"
	envBackendSettingPrefix = "COLLECT_BACKEND_"
)

// backendSetting is one value of the backend and where it came from.
type backendSetting struct {
	value  string
	attr   *hclsyntax.Attribute // when it came from the block
	origin string               // otherwise: "COLLECT_BACKEND_PREFIX", "-backend-config=prefix=..."
}

// subject is where a diagnostic about the setting points: the value in
// the file, or nothing for the environment and the command line.
func (s backendSetting) subject() *hcl.Range {
	if s.attr != nil {
		return s.attr.Expr.Range().Ptr()
	}
	return nil
}

func (s backendSetting) from() string {
	if s.attr != nil {
		return "the backend block"
	}
	return s.origin
}

func (l *loader) backend(m *Matter, bs []*block) {
	settings := map[string]backendSetting{}
	b := &m.Backend
	if len(bs) > 0 {
		blk := bs[0]
		b.Range = blk.syn.DefRange()
		if t := blk.label(); contains(backendTypes, t) {
			b.Type = t
		} else {
			detail := fmt.Sprintf("collect keeps a collection in the local output folder (no backend block, the default) "+
				"or in Azure Blob Storage; %q is not a backend it knows. Supported types: %s.", t, strings.Join(quoteAll(backendTypes), ", "))
			if s := suggest(t, backendTypes); s != "" {
				detail += fmt.Sprintf(" Did you mean %q?", s)
			} else if strings.EqualFold(t, "local") {
				detail += " The local folder needs no backend block: remove it, and use the output and state blocks to place the folder."
			}
			l.errorf(blk.syn.LabelRanges[0].Ptr(), "Unsupported backend type", "%s", detail)
		}
		for _, k := range backendKeys {
			if a := blk.attrs[k]; a != nil {
				if v, ok := l.str(a, k); ok {
					settings[k] = backendSetting{value: v, attr: a}
				}
			}
		}
	}

	// The environment, then -backend-config options, win over the file.
	envSet := map[string]string{}
	for _, kv := range l.opts.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		switch {
		case k == EnvBackend:
			if v == "" {
				continue
			}
			if !contains(backendTypes, v) {
				l.errorf(nil, "Unsupported backend type",
					"%s=%s: supported types are %s. Unset %s to keep the collection in the local folder.",
					EnvBackend, v, strings.Join(quoteAll(backendTypes), ", "), EnvBackend)
				continue
			}
			if b.Type != "" && b.Type != v {
				continue // an unknown block label was reported above
			}
			b.Type = v
		case strings.HasPrefix(k, envBackendSettingPrefix):
			key := strings.ToLower(strings.TrimPrefix(k, envBackendSettingPrefix))
			if !contains(backendKeys, key) {
				// Other COLLECT_BACKEND_* names may belong to the backend
				// itself; only a credential is worth a word here.
				if contains(backendCredentials, key) {
					l.errorf(nil, "Credential in a backend setting",
						"%s is not read: set the credential as %s.", k, backendCredentialHelp)
				}
				continue
			}
			settings[key] = backendSetting{value: v, origin: k}
			envSet[key] = k
		}
	}
	flags := false
	for _, opt := range l.opts.BackendConfig {
		key, v, ok := strings.Cut(opt, "=")
		key = strings.TrimSpace(key)
		switch {
		case !ok || key == "":
			l.errorf(nil, "Invalid -backend-config option",
				"-backend-config takes key=value, such as -backend-config=container=acme-v-globex; valid keys are %s.",
				strings.Join(quoteAll(backendKeys), ", "))
		case contains(backendCredentials, key) || secretLike(key):
			// The value is a secret: never repeat it.
			l.errorf(nil, "Credential in a -backend-config option",
				"-backend-config=%s=... passes a credential on the command line, where process listings and shell history keep it. "+
					"Remove it and set %s.", key, backendCredentialHelp)
		case !contains(backendKeys, key):
			detail := fmt.Sprintf("-backend-config=%s=... names no backend setting; valid keys are %s.",
				key, strings.Join(quoteAll(backendKeys), ", "))
			if s := suggest(key, backendKeys); s != "" {
				detail += fmt.Sprintf(" Did you mean %q?", s)
			}
			l.errorf(nil, "Invalid -backend-config option", "%s", detail)
		default:
			settings[key] = backendSetting{value: v, origin: "-backend-config=" + key}
			flags = true
			delete(envSet, key)
		}
	}

	if b.Type == "" {
		if len(bs) > 0 {
			return // the unknown type was reported
		}
		if flags {
			l.errorf(nil, "No backend to configure",
				"-backend-config was given, but the matter keeps its collection in the local folder. Add a backend "+
					"\"azurerm\" block to the matter, or set %s=%s, or drop the -backend-config options.", EnvBackend, BackendAzureRM)
		}
		for _, key := range backendKeys {
			if name, ok := envSet[key]; ok {
				l.warnf(nil, "Backend setting ignored",
					"%s is set, but the matter keeps its collection in the local folder, so it is not used. "+
						"Set %s=%s to use Azure Blob Storage, or unset %s.", name, EnvBackend, BackendAzureRM, name)
			}
		}
		return
	}

	b.StorageAccount = l.storageAccount(settings["storage_account"], b)
	b.Container = l.container(settings["container"], b)
	b.Prefix = l.backendPrefix(settings["prefix"])
	b.Endpoint = l.endpoint(settings["endpoint"])
}

// missingBackendSetting reports a required setting that nothing gave.
func (l *loader) missingBackendSetting(b *Backend, key, example string) {
	var subject *hcl.Range
	if b.Range != (hcl.Range{}) {
		subject = b.Range.Ptr()
	}
	l.errorf(subject, "Missing backend setting",
		"The %s backend needs %s: write %s = %q in the backend block, set %s%s, or pass -backend-config=%s=%s.",
		b.Type, key, key, example, envBackendSettingPrefix, strings.ToUpper(key), key, example)
}

// Azure's naming rules: an account is 3-24 lower-case letters and digits;
// a container is 3-63 lower-case letters, digits and single hyphens, and
// starts and ends with a letter or a digit.
var (
	storageAccountName = regexp.MustCompile(`^[a-z0-9]{3,24}$`)
	containerName      = regexp.MustCompile(`^[a-z0-9](?:-?[a-z0-9])+$`)
)

func (l *loader) storageAccount(s backendSetting, b *Backend) string {
	v := strings.TrimSpace(s.value)
	if s.attr == nil && s.origin == "" {
		l.missingBackendSetting(b, "storage_account", "acmeevidence")
		return ""
	}
	if !storageAccountName.MatchString(v) {
		hint := ""
		if lower := strings.ToLower(v); lower != v && storageAccountName.MatchString(lower) {
			hint = fmt.Sprintf(" Did you mean %q?", lower)
		} else if strings.Contains(v, ".") {
			hint = " Write the account name alone, not its host name; a different endpoint goes in endpoint."
		}
		l.errorf(s.subject(), "Invalid storage account name",
			"%q (from %s) is not an Azure storage account name: it must be 3 to 24 lower-case letters and digits.%s",
			v, s.from(), hint)
		return ""
	}
	return v
}

func (l *loader) container(s backendSetting, b *Backend) string {
	v := strings.TrimSpace(s.value)
	if s.attr == nil && s.origin == "" {
		l.missingBackendSetting(b, "container", "acme-v-globex")
		return ""
	}
	if len(v) < 3 || len(v) > 63 || !containerName.MatchString(v) {
		hint := ""
		if lower := strings.ToLower(v); lower != v && len(lower) >= 3 && len(lower) <= 63 && containerName.MatchString(lower) {
			hint = fmt.Sprintf(" Did you mean %q?", lower)
		} else if strings.Contains(v, "/") {
			hint = " A folder inside the container goes in prefix."
		}
		l.errorf(s.subject(), "Invalid container name",
			"%q (from %s) is not an Azure blob container name: it must be 3 to 63 lower-case letters, digits and hyphens, "+
				"start and end with a letter or a digit, and have no two hyphens in a row.%s", v, s.from(), hint)
		return ""
	}
	return v
}

func (l *loader) backendPrefix(s backendSetting) string {
	v := strings.TrimSpace(s.value)
	if v == "" {
		return ""
	}
	bad := ""
	switch {
	case strings.HasPrefix(v, "/"):
		bad = "it starts with a slash; a prefix is relative to the container"
	case strings.Contains(v, `\`):
		bad = "it holds a backslash; separate folders with a slash"
	case len(v) > 512:
		bad = "it is longer than 512 characters"
	}
	trimmed := strings.TrimRight(v, "/")
	if bad == "" {
		for _, seg := range strings.Split(trimmed, "/") {
			switch seg {
			case "":
				bad = "it has an empty folder name (two slashes in a row)"
			case ".", "..":
				bad = fmt.Sprintf("it has a %q folder name; a prefix names its folders plainly", seg)
			}
			if bad != "" {
				break
			}
		}
	}
	if bad != "" {
		l.errorf(s.subject(), "Invalid backend prefix",
			"The prefix %q (from %s) cannot be used: %s. Write folder names separated by slashes, such as \"matters/acme-v-globex\".",
			v, s.from(), bad)
		return ""
	}
	return trimmed
}

func (l *loader) endpoint(s backendSetting) string {
	v := strings.TrimSpace(s.value)
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		if err == nil && (u.RawQuery != "" || u.User != nil) {
			// A query string is where a SAS token would be: never show it,
			// neither in the message nor in the source line under it.
			d := &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Credential in the backend endpoint",
				Detail: fmt.Sprintf("The endpoint (from %s) has a query string or a user name, which is where a SAS token or a "+
					"password would go. Write the URL without them and give the credential as %s.", s.from(), backendCredentialHelp),
				Subject: s.subject(),
			}
			if s.attr != nil {
				d.Extra = secretValue{s.attr.Expr.Range()}
			}
			l.add(hcl.Diagnostics{d})
			return ""
		}
		l.errorf(s.subject(), "Invalid backend endpoint",
			"%q (from %s) is not a blob service URL. Write it as https://ACCOUNT.blob.core.usgovcloudapi.net/ "+
				"for a sovereign cloud, or http://127.0.0.1:10000/devstoreaccount1 for Azurite.", v, s.from())
		return ""
	}
	return v
}
