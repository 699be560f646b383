package azure

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/collect-ediscovery/collect/backend"
)

// Sizes of writes. An object up to putBlobLimit goes in one Put Blob; a
// larger one is staged in blocks of blockSize, each read into memory once
// to hash it, and committed with one Put Block List.
const (
	putBlobLimit = 64 << 20
	blockSize    = 16 << 20
)

// Store is a backend.Store over one container of Azure Blob Storage.
type Store struct {
	cfg       Config
	c         *container.Client
	name      string
	putLimit  int64
	blockSize int64
	auth      string             // what to check when the service refuses the sign-in
	transport policy.Transporter // nil: the SDK's HTTP client
	onRenew   func(error)        // tests: told after each renewal a lease tried
}

var _ backend.Store = (*Store)(nil)

// Open connects to the container cfg names and checks that it exists and
// that the credentials are accepted.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	return open(ctx, cfg, nil)
}

func open(ctx context.Context, cfg Config, transport policy.Transporter) (*Store, error) {
	cfg, err := cfg.check()
	if err != nil {
		return nil, err
	}
	s := &Store{cfg: cfg, putLimit: putBlobLimit, blockSize: blockSize, transport: transport}
	s.name = "azurerm: " + cfg.Account + "/" + cfg.Container
	if cfg.Prefix != "" {
		s.name += "/" + strings.TrimSuffix(cfg.Prefix, "/")
	}
	switch {
	case cfg.ConnectionString != "":
		s.auth = "check the connection string in " + EnvConnectionString + ": copy it again from the storage account's Access keys page"
	case cfg.SharedKey != "":
		s.auth = "check the account name and the key in " + EnvKey + ": copy it again from the storage account's Access keys page"
	default:
		s.auth = "give the signed-in identity the Storage Blob Data Contributor role on the container, or set " + EnvConnectionString + " or " + EnvKey
	}
	if s.c, err = s.client(); err != nil {
		return nil, err
	}
	if _, err := s.c.GetProperties(ctx, nil); err != nil {
		if bloberror.HasCode(err, bloberror.ContainerNotFound) {
			return nil, fmt.Errorf("%s: the container %q does not exist in the storage account %q: create it (az storage container create --account-name %s --name %s --auth-mode login) or name the right one",
				s.name, cfg.Container, cfg.Account, cfg.Account, cfg.Container)
		}
		return nil, &opError{store: s.name, op: "open the container", auth: s.auth, err: err}
	}
	return s, nil
}

// client builds the container client for the configured way of signing
// in. Its errors never quote the connection string or the key.
func (s *Store) client() (*container.Client, error) {
	cfg := s.cfg
	opts := &container.ClientOptions{ClientOptions: azcore.ClientOptions{
		// Each try of a request is bounded, so that a stalled connection
		// is retried instead of holding a run; a whole Put Blob of
		// putBlobLimit bytes fits in one try on any usable link.
		Retry: policy.RetryOptions{
			MaxRetries:    4,
			TryTimeout:    2 * time.Minute,
			RetryDelay:    time.Second,
			MaxRetryDelay: 15 * time.Second,
		},
		Telemetry: policy.TelemetryOptions{ApplicationID: "collect"},
	}}
	if s.transport != nil {
		opts.Transport = s.transport
	}
	switch {
	case cfg.ConnectionString != "":
		c, err := container.NewClientFromConnectionString(cfg.ConnectionString, cfg.Container, opts)
		if err != nil {
			return nil, fmt.Errorf("%s: the connection string (%s) is not one Azure accepts: copy it again from the storage account's Access keys page", s.name, EnvConnectionString)
		}
		return c, nil
	case cfg.SharedKey != "":
		cred, err := container.NewSharedKeyCredential(cfg.Account, cfg.SharedKey)
		if err != nil {
			return nil, fmt.Errorf("%s: the account key (%s) is not base64 as Azure gives it: copy it again from the storage account's Access keys page", s.name, EnvKey)
		}
		c, err := container.NewClientWithSharedKeyCredential(cfg.Endpoint+cfg.Container, cred, opts)
		if err != nil {
			return nil, fmt.Errorf("%s: endpoint %q: %w", s.name, cfg.Endpoint, err)
		}
		return c, nil
	default:
		cred := cfg.Credential
		if cred == nil {
			var err error
			cred, err = azidentity.NewDefaultAzureCredential(nil)
			if err != nil {
				return nil, fmt.Errorf("%s: no way to sign in: set %s or %s, or sign in with Entra ID (workload identity, managed identity or az login): %w",
					s.name, EnvConnectionString, EnvKey, err)
			}
		}
		c, err := container.NewClient(cfg.Endpoint+cfg.Container, cred, opts)
		if err != nil {
			return nil, fmt.Errorf("%s: endpoint %q: %w", s.name, cfg.Endpoint, err)
		}
		return c, nil
	}
}

// String names the store: "azurerm: account/container/prefix".
func (s *Store) String() string { return s.name }

func (s *Store) blob(name string) *blockblob.Client {
	return s.c.NewBlockBlobClient(s.cfg.Prefix + name)
}

func (s *Store) fail(op, name string, err error) error {
	e := &opError{store: s.name, op: op, name: name, auth: s.auth, err: err}
	if notFound(err) {
		e.kind = backend.ErrNotFound
	}
	return e
}

func notFound(err error) bool {
	if bloberror.HasCode(err, bloberror.BlobNotFound) {
		return true
	}
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusNotFound && !bloberror.HasCode(err, bloberror.ContainerNotFound)
}

// PutOnce writes name only if no blob of that name exists, with the
// service checking the bytes against md5.
func (s *Store) PutOnce(ctx context.Context, name string, r io.ReadSeeker, size int64, md5 []byte, meta map[string]string) error {
	if err := checkName(name); err != nil {
		return fmt.Errorf("%s: write %q: %w", s.name, name, err)
	}
	m, err := metadata(meta)
	if err != nil {
		return fmt.Errorf("%s: write %s: %w", s.name, name, err)
	}
	b := s.blob(name)
	if size > s.putLimit {
		// Staging blocks of an object that is already there would only
		// be thrown away by the refused commit.
		if _, err := s.Stat(ctx, name); err == nil {
			return &opError{store: s.name, op: "write", name: name, kind: backend.ErrExists, err: backend.ErrExists}
		}
	}
	cond := &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}}
	err = s.put(ctx, b, r, size, md5, m, cond)
	switch {
	case err == nil:
		return nil
	case bloberror.HasCode(err, bloberror.BlobAlreadyExists, bloberror.ConditionNotMet):
		return &opError{store: s.name, op: "write", name: name, kind: backend.ErrExists, err: err}
	case bloberror.HasCode(err, bloberror.InvalidBlockList):
		// Another writer committed the name while these blocks were
		// staged, which discarded them.
		if _, serr := s.Stat(ctx, name); serr == nil {
			return &opError{store: s.name, op: "write", name: name, kind: backend.ErrExists, err: err}
		}
	}
	return s.fail("write", name, err)
}

// metadata checks the caller's metadata and puts it in the SDK's form.
// Azure sends metadata as HTTP headers: names are C# identifiers, values
// printable ASCII.
func metadata(meta map[string]string) (map[string]*string, error) {
	if len(meta) == 0 {
		return nil, nil
	}
	m := make(map[string]*string, len(meta))
	for k, v := range meta {
		if k == "" || k == lockKey || strings.Trim(k, "abcdefghijklmnopqrstuvwxyz0123456789") != "" || (k[0] >= '0' && k[0] <= '9') {
			return nil, fmt.Errorf("metadata name %q: use lower-case letters and digits, starting with a letter, other than %q", k, lockKey)
		}
		for i := 0; i < len(v); i++ {
			if v[i] < 0x20 || v[i] > 0x7e {
				return nil, fmt.Errorf("metadata %s: the value holds a byte (%#x) that is not printable ASCII", k, v[i])
			}
		}
		m[k] = to.Ptr(v)
	}
	return m, nil
}

// Stat reads the blob's properties.
func (s *Store) Stat(ctx context.Context, name string) (backend.Info, error) {
	if err := checkName(name); err != nil {
		return backend.Info{}, fmt.Errorf("%s: stat %q: %w", s.name, name, err)
	}
	p, err := s.blob(name).GetProperties(ctx, nil)
	if err != nil {
		return backend.Info{}, s.fail("stat", name, err)
	}
	return backend.Info{
		Name:     name,
		Size:     deref(p.ContentLength),
		MD5:      p.ContentMD5,
		Metadata: userMetadata(p.Metadata),
		Modified: deref(p.LastModified),
	}, nil
}

// Open reads the blob; a read that breaks off is resumed from where it
// stopped, on the same version of the blob.
func (s *Store) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := checkName(name); err != nil {
		return nil, fmt.Errorf("%s: read %q: %w", s.name, name, err)
	}
	resp, err := s.blob(name).DownloadStream(ctx, nil)
	if err != nil {
		return nil, s.fail("read", name, err)
	}
	return resp.NewRetryReader(ctx, &blob.RetryReaderOptions{MaxRetries: 3}), nil
}

// List pages through the blobs under the store's prefix and prefix, in
// the service's order, which is lexical.
func (s *Store) List(ctx context.Context, prefix string, fn func(backend.Info) error) error {
	pager := s.c.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{
		Prefix:  to.Ptr(s.cfg.Prefix + prefix),
		Include: container.ListBlobsInclude{Metadata: true},
	})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return s.fail("list", prefix, err)
		}
		for _, item := range page.Segment.BlobItems {
			if item.Name == nil || item.Properties == nil {
				continue
			}
			name, ok := strings.CutPrefix(*item.Name, s.cfg.Prefix)
			if !ok {
				continue
			}
			info := backend.Info{
				Name:     name,
				Size:     deref(item.Properties.ContentLength),
				MD5:      item.Properties.ContentMD5,
				Metadata: userMetadata(item.Metadata),
				Modified: deref(item.Properties.LastModified),
			}
			if err := fn(info); err != nil {
				return err
			}
		}
	}
	return nil
}

// userMetadata is the metadata the writer gave, without the lock's holder.
// Names are lower-cased: Go's HTTP headers come back capitalised.
func userMetadata(m map[string]*string) map[string]string {
	var out map[string]string
	for k, v := range m {
		k = strings.ToLower(k)
		if k == lockKey || v == nil {
			continue
		}
		if out == nil {
			out = make(map[string]string, len(m))
		}
		out[k] = *v
	}
	return out
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
