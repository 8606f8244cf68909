package objstore

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Location is a Store plus the key prefix a URL named inside it, e.g.
// s3://bucket/raw/events/ is the bucket's Store with Prefix "raw/events/".
type Location struct {
	Store  Store
	Prefix string
}

// Key joins the Location's prefix and a relative key.
func (l Location) Key(rel string) string { return l.Prefix + rel }

// String is the Location as a URL.
func (l Location) String() string {
	if l.Store == nil {
		return ""
	}
	u := l.Store.URL()
	if l.Prefix == "" {
		return u
	}
	return strings.TrimSuffix(u, "/") + "/" + l.Prefix
}

// options are the knobs Open passes to the store constructors.
type options struct {
	partSize    int64
	endpoint    string
	region      string
	maxAttempts int // 0: the AWS configuration's, else DefaultMaxAttempts
	maxBackoff  time.Duration
	timeout     time.Duration // 0: TimeoutEnv, else DefaultTimeout
}

// Option changes how Open builds a store.
type Option func(*options)

// WithPartSize sets the multipart part size of S3 uploads (default 8 MiB;
// at least 5 MiB). It bounds the largest object to 10,000 parts.
func WithPartSize(n int64) Option { return func(o *options) { o.partSize = n } }

// WithEndpoint points the S3 client at an S3-compatible server instead of
// the one AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL or AWS itself would give.
// Path-style addressing is used, as with any custom endpoint.
func WithEndpoint(u string) Option { return func(o *options) { o.endpoint = u } }

// WithRegion overrides the region of the AWS configuration chain.
func WithRegion(r string) Option { return func(o *options) { o.region = r } }

// WithRetries sets how many attempts (first try included) the S3 client
// makes on retryable failures, overriding AWS_MAX_ATTEMPTS and the
// profile's max_attempts (0 keeps them), and the ceiling of its jittered
// exponential backoff (DefaultMaxBackoff otherwise).
func WithRetries(maxAttempts int, maxBackoff time.Duration) Option {
	return func(o *options) { o.maxAttempts, o.maxBackoff = maxAttempts, maxBackoff }
}

// WithTimeout sets the per-attempt deadline of a small request, overriding
// SLUICE_S3_TIMEOUT (larger requests scale from it: see retry.go).
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

func buildOptions(opts []Option) options {
	o := options{
		partSize:   DefaultPartSize,
		maxBackoff: DefaultMaxBackoff,
	}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// Open resolves a URL to a Location:
//   - s3://bucket/prefix → the bucket's S3 store, Prefix "prefix" (kept
//     verbatim: "raw/" names a directory, "raw/x" any key starting so);
//   - file:///abs/dir or a plain path → a local store rooted at that
//     directory (created on first write, not here), Prefix "".
//
// Stores of the same bucket opened with the same options share one client
// (and so one connection pool).
func Open(ctx context.Context, rawURL string, opts ...Option) (Location, error) {
	o := buildOptions(opts)
	if rawURL == "" {
		return Location{}, fmt.Errorf("empty storage URL")
	}
	if i := strings.Index(rawURL, "://"); i > 0 {
		scheme := strings.ToLower(rawURL[:i])
		switch scheme {
		case "s3":
			rest := rawURL[i+3:]
			bucket, prefix, _ := strings.Cut(rest, "/")
			if bucket == "" {
				return Location{}, fmt.Errorf("%s: missing bucket name", rawURL)
			}
			if strings.ContainsAny(bucket, "?#") {
				return Location{}, fmt.Errorf("%s: invalid bucket name %q", rawURL, bucket)
			}
			s, err := sharedS3(ctx, bucket, o)
			if err != nil {
				return Location{}, err
			}
			return Location{Store: s, Prefix: prefix}, nil
		case "file":
			u, err := url.Parse(rawURL)
			if err != nil {
				return Location{}, fmt.Errorf("%s: %v", rawURL, err)
			}
			if u.Host != "" && u.Host != "localhost" {
				return Location{}, fmt.Errorf("%s: file URLs must not name a host (use file:///absolute/path)", rawURL)
			}
			if u.Path == "" {
				return Location{}, fmt.Errorf("%s: missing path", rawURL)
			}
			return Location{Store: NewLocal(filepath.FromSlash(u.Path))}, nil
		default:
			return Location{}, fmt.Errorf("%s: unsupported scheme %q (use s3:// or a local path)", rawURL, scheme)
		}
	}
	abs, err := filepath.Abs(rawURL)
	if err != nil {
		return Location{}, fmt.Errorf("%s: %v", rawURL, err)
	}
	return Location{Store: NewLocal(abs)}, nil
}

// s3Cache shares one client per (bucket, options): a process that opens
// the same bucket for sources, sinks and state keeps one connection pool.
var s3Cache struct {
	sync.Mutex
	m map[s3CacheKey]*S3Store
}

type s3CacheKey struct {
	bucket string
	o      options
	env    string // the environment the AWS chain reads: a new endpoint or identity is a new client
}

// awsEnvKeys are the variables whose change must not reuse a cached client.
var awsEnvKeys = []string{"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_PROFILE",
	"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_REQUEST_CHECKSUM_CALCULATION",
	"AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE", "AWS_CA_BUNDLE", TimeoutEnv, AddressingEnv}

func awsEnv() string {
	var b strings.Builder
	for _, k := range awsEnvKeys {
		b.WriteString(k + "=" + os.Getenv(k) + "\x00")
	}
	return b.String()
}

func sharedS3(ctx context.Context, bucket string, o options) (*S3Store, error) {
	s3Cache.Lock()
	defer s3Cache.Unlock()
	k := s3CacheKey{bucket, o, awsEnv()}
	if s, ok := s3Cache.m[k]; ok {
		return s, nil
	}
	s, err := newS3(ctx, bucket, o)
	if err != nil {
		return nil, err
	}
	if s3Cache.m == nil {
		s3Cache.m = map[s3CacheKey]*S3Store{}
	}
	s3Cache.m[k] = s
	return s, nil
}

// Both implementations satisfy the interface.
var (
	_ Store = (*LocalStore)(nil)
	_ Store = (*S3Store)(nil)
)
