package objstore

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// AddressingEnv chooses how buckets are addressed: "path"
// (https://host/bucket/key) or "virtual" (https://bucket.host/key). Unset:
// path-style with a custom endpoint (AWS_ENDPOINT_URL_S3), virtual-hosted
// on AWS.
const AddressingEnv = "SLUICE_S3_ADDRESSING"

const (
	// DefaultPartSize is the multipart part size of S3 uploads.
	DefaultPartSize = 8 << 20
	// MinPartSize is S3's smallest part but the last.
	MinPartSize = 5 << 20
	// MaxParts is S3's largest part count of one upload.
	MaxParts = 10000
	// partsInFlight bounds the parts one Upload sends concurrently, and so
	// its memory to (partsInFlight+1) parts.
	partsInFlight = 2
)

// S3Store is a Store over one S3 bucket (or S3-compatible server).
//
// ETags are S3's, without the surrounding quotes. Keys are used verbatim.
type S3Store struct {
	bucket   string
	client   *s3.Client
	endpoint string // custom endpoint for error messages (userinfo redacted), "" for AWS itself
	// secrets are the endpoint URL's userinfo (as written and unescaped),
	// which no error message may hold.
	secrets  []string
	partSize int64
	region   string        // the region requests are signed for (for error messages)
	timeout  time.Duration // per-attempt deadline of a small request
	retryer  aws.RetryerV2

	bucketSeen atomic.Bool // HeadBucket succeeded once: a 404 is a missing key
}

// NewS3 returns a store for bucket with a client of its own (Open shares
// clients; use NewS3 where a test or tool needs a separate one).
//
// Configuration comes from the AWS default chain (environment, shared
// config, SSO, IMDS). AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL (or
// WithEndpoint) select an S3-compatible server, addressed path-style. The
// region defaults to us-east-1. Request checksums follow
// AWS_REQUEST_CHECKSUM_CALCULATION (the SDK's default, when_supported,
// works against versitygw). Retries follow the SDK's settings, and every
// attempt has a deadline (retry.go).
func NewS3(ctx context.Context, bucket string, opts ...Option) (*S3Store, error) {
	return newS3(ctx, bucket, buildOptions(opts))
}

func newS3(ctx context.Context, bucket string, o options) (*S3Store, error) {
	if o.partSize < MinPartSize {
		return nil, fmt.Errorf("s3://%s: part size %d is below S3's minimum of 5 MiB", bucket, o.partSize)
	}
	addressing := os.Getenv(AddressingEnv)
	switch addressing {
	case "", "path", "virtual":
	default:
		return nil, fmt.Errorf("s3://%s: %s=%q: use \"path\" or \"virtual\" (unset: path with a custom endpoint, virtual on AWS)", bucket, AddressingEnv, addressing)
	}
	timeout := o.timeout
	if timeout == 0 {
		var err error
		if timeout, err = timeoutFromEnv(); err != nil {
			return nil, fmt.Errorf("s3://%s: %v", bucket, err)
		}
	}
	httpClient := awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) {
			d.Timeout = 10 * time.Second
			d.KeepAlive = 30 * time.Second
		}).
		WithTransportOptions(func(t *http.Transport) {
			// Small-object reads are latency-bound: keep many connections
			// (the default of 2 idle per host serialises them).
			t.MaxIdleConns = 512
			t.MaxIdleConnsPerHost = 256
			t.IdleConnTimeout = 90 * time.Second
			t.TLSHandshakeTimeout = 10 * time.Second
			t.ExpectContinueTimeout = time.Second
			// Each attempt has a deadline of its own (s.attempt), scaled
			// to what it sends; the transport adds none.
			t.ResponseHeaderTimeout = 0
		})
	loadOpts := []func(*config.LoadOptions) error{
		config.WithDefaultRegion("us-east-1"),
		config.WithHTTPClient(httpClient),
		// No WithRetryer: the SDK then reads AWS_MAX_ATTEMPTS,
		// AWS_RETRY_MODE and the profile's max_attempts and retry_mode
		// into cfg, which the retryer below honours.
	}
	if o.region != "" {
		loadOpts = append(loadOpts, config.WithRegion(o.region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("s3://%s: loading AWS configuration: %v", bucket, err)
	}
	attempts := o.maxAttempts
	if attempts == 0 {
		attempts = cfg.RetryMaxAttempts
	}
	if attempts == 0 {
		attempts = DefaultMaxAttempts
	}
	mode := cfg.RetryMode
	if mode == "" {
		mode = aws.RetryModeStandard
	}
	s := &S3Store{bucket: bucket, partSize: o.partSize, timeout: timeout, region: cfg.Region}
	s.retryer = s.newRetryer(mode, attempts, o.maxBackoff)
	s.client = s3.NewFromConfig(cfg, func(so *s3.Options) {
		so.Retryer = s.retryer
		// Already applied above; non-zero would wrap the retryer again.
		so.RetryMaxAttempts, so.RetryMode = 0, mode
		so.APIOptions = append(so.APIOptions, s.observe)
		// S3-compatible servers often return no checksum; that is not
		// worth a line on stderr per GET.
		so.DisableLogOutputChecksumValidationSkipped = true
		if o.endpoint != "" {
			so.BaseEndpoint = aws.String(o.endpoint)
		}
		if so.BaseEndpoint != nil {
			s.endpoint, s.secrets = redactEndpoint(*so.BaseEndpoint)
		}
		// Virtual-hosted addressing (bucket.host) is AWS's way; S3-compatible
		// servers rarely have the wildcard DNS it needs, so a custom
		// endpoint is addressed path-style (host/bucket) unless told.
		switch addressing {
		case "path":
			so.UsePathStyle = true
		case "virtual":
			so.UsePathStyle = false
		default:
			so.UsePathStyle = so.BaseEndpoint != nil
		}
	})
	return s, nil
}

// MaxAttempts is the attempts (first included) the store makes per request.
func (s *S3Store) MaxAttempts() int { return s.retryer.MaxAttempts() }

// noRetry vetoes retries the SDK would otherwise consider: a failed
// condition or a missing key is an answer, not a fault; a refused
// connection means a wrong or dead endpoint, and an untrusted certificate
// a missing CA bundle, and retrying them for minutes only hides that.
type noRetry struct{}

func (noRetry) IsErrorRetryable(err error) aws.Ternary {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		switch re.HTTPStatusCode() {
		case http.StatusPreconditionFailed, http.StatusConflict, http.StatusNotFound,
			http.StatusForbidden, http.StatusBadRequest:
			return aws.FalseTernary
		}
	}
	if isConnRefused(err) || isCertificateError(err) {
		return aws.FalseTernary
	}
	return aws.UnknownTernary
}

// isCertificateError reports a TLS certificate the client does not trust:
// a configuration problem (AWS_CA_BUNDLE), which no retry fixes.
func isCertificateError(err error) bool {
	var unknownCA x509.UnknownAuthorityError
	var badHost x509.HostnameError
	var invalid x509.CertificateInvalidError
	return errors.As(err, &unknownCA) || errors.As(err, &badHost) || errors.As(err, &invalid)
}

// checkBucket tells a missing bucket (or an unknown identity, which some
// servers answer with 404 too) from a missing key after a HEAD 404, which
// has no body to say which: a missing state bucket must not read as "no
// state yet". It asks with a one-key listing, whose error has a body. A
// bucket seen once is not asked about again.
func (s *S3Store) checkBucket(ctx context.Context, key string) error {
	if s.bucketSeen.Load() {
		return nil
	}
	_, err := s.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &key, MaxKeys: aws.Int32(1)})
	if err == nil {
		s.bucketSeen.Store(true)
		return nil
	}
	if err = s.wrap(key, err); errors.Is(err, ErrNotExist) {
		return nil // cannot tell; the key's own answer stands
	}
	return err
}

// URL implements Store.
func (s *S3Store) URL() string { return "s3://" + s.bucket }

// Bucket is the store's bucket.
func (s *S3Store) Bucket() string { return s.bucket }

// Client is the underlying S3 client (shared; do not reconfigure it).
func (s *S3Store) Client() *s3.Client { return s.client }

func (s *S3Store) keyURL(key string) string { return "s3://" + s.bucket + "/" + key }

func unquote(etag *string) string {
	if etag == nil {
		return ""
	}
	return strings.Trim(*etag, `"`)
}

// optString is nil for "": the SDK sends a header for every non-nil field.
func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func quote(etag string) string {
	if strings.HasPrefix(etag, `"`) || strings.HasPrefix(etag, `W/"`) {
		return etag
	}
	return `"` + etag + `"`
}

// List implements Store with one ListObjectsV2 call. The token is S3's
// continuation token.
func (s *S3Store) List(ctx context.Context, in ListInput) (ListPage, error) {
	req := &s3.ListObjectsV2Input{Bucket: &s.bucket}
	if in.Prefix != "" {
		req.Prefix = aws.String(in.Prefix)
	}
	if in.Delimiter != "" {
		req.Delimiter = aws.String(in.Delimiter)
	}
	if in.StartAfter != "" {
		req.StartAfter = aws.String(in.StartAfter)
	}
	if in.Token != "" {
		req.ContinuationToken = aws.String(in.Token)
	}
	if in.MaxKeys > 0 {
		req.MaxKeys = aws.Int32(int32(min(in.MaxKeys, DefaultMaxKeys)))
	}
	out, err := s.client.ListObjectsV2(ctx, req)
	if err != nil {
		return ListPage{}, s.wrap(in.Prefix, err)
	}
	var page ListPage
	page.Objects = make([]ObjectInfo, 0, len(out.Contents))
	for _, o := range out.Contents {
		page.Objects = append(page.Objects, ObjectInfo{
			Key:          aws.ToString(o.Key),
			Size:         aws.ToInt64(o.Size),
			ETag:         unquote(o.ETag),
			LastModified: aws.ToTime(o.LastModified),
		})
	}
	for _, p := range out.CommonPrefixes {
		page.CommonPrefixes = append(page.CommonPrefixes, aws.ToString(p.Prefix))
	}
	if aws.ToBool(out.IsTruncated) {
		page.NextToken = aws.ToString(out.NextContinuationToken)
		if page.NextToken == "" {
			return ListPage{}, fmt.Errorf("%s: truncated listing without a continuation token", s.keyURL(in.Prefix))
		}
	}
	return page, nil
}

// Head implements Store.
func (s *S3Store) Head(ctx context.Context, key string) (ObjectInfo, error) {
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		raw := err
		err = s.wrap(key, err)
		var rerr *RegionError
		switch {
		case errors.Is(err, ErrNotExist):
			if berr := s.checkBucket(ctx, key); berr != nil {
				return ObjectInfo{}, berr
			}
		case bodyless(raw) && !errors.As(err, &rerr):
			// The answer to a HEAD has no body; a listing's error says why.
			if _, lerr := s.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &key, MaxKeys: aws.Int32(1)}); lerr != nil {
				return ObjectInfo{}, s.wrap(key, lerr)
			}
		}
		return ObjectInfo{}, err
	}
	return ObjectInfo{Key: key, Size: aws.ToInt64(out.ContentLength), ETag: unquote(out.ETag), LastModified: aws.ToTime(out.LastModified)}, nil
}

// Get implements Store.
func (s *S3Store) Get(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error) {
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return nil, ObjectInfo{}, s.wrap(key, err)
	}
	info := ObjectInfo{Key: key, Size: aws.ToInt64(out.ContentLength), ETag: unquote(out.ETag), LastModified: aws.ToTime(out.LastModified)}
	return &s3Body{rc: out.Body, s: s, key: key}, info, nil
}

// GetRange implements Store with a ranged GET.
func (s *S3Store) GetRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	if offset < 0 {
		return nil, fmt.Errorf("%s: invalid range: offset %d", s.keyURL(key), offset)
	}
	if length == 0 {
		return io.NopCloser(bytes.NewReader(nil)), nil
	}
	rng := fmt.Sprintf("bytes=%d-", offset)
	if length > 0 {
		rng = fmt.Sprintf("bytes=%d-%d", offset, offset+length-1)
	}
	out, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key, Range: &rng})
	if err != nil {
		return nil, s.wrap(key, err)
	}
	return &s3Body{rc: out.Body, s: s, key: key}, nil
}

// s3Body names the object in errors of the body stream (a connection that
// dies mid-read).
type s3Body struct {
	rc  io.ReadCloser
	s   *S3Store
	key string
}

func (b *s3Body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF {
		err = b.s.wrap(b.key, err)
	}
	return n, err
}

func (b *s3Body) Close() error { return b.rc.Close() }

// Put implements Store. IfNoneMatch sends If-None-Match: *, IfMatch sends
// If-Match; S3 evaluates both atomically.
func (s *S3Store) Put(ctx context.Context, key string, data []byte, opts PutOptions) (ObjectInfo, error) {
	req := &s3.PutObjectInput{
		Bucket:        &s.bucket,
		Key:           &key,
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
	}
	o := opts.Object
	req.ContentType, req.ContentEncoding = optString(o.ContentType), optString(o.ContentEncoding)
	req.ServerSideEncryption, req.SSEKMSKeyId = types.ServerSideEncryption(o.SSE), optString(o.KMSKeyID)
	req.StorageClass, req.ACL, req.Tagging = types.StorageClass(o.StorageClass), types.ObjectCannedACL(o.ACL), optString(o.Tagging())
	if opts.IfNoneMatch {
		req.IfNoneMatch = aws.String("*")
	}
	if opts.IfMatch != "" {
		req.IfMatch = aws.String(quote(opts.IfMatch))
	}
	out, err := s.client.PutObject(ctx, req)
	if err != nil {
		return ObjectInfo{}, s.wrap(key, err)
	}
	// PutObject does not return Last-Modified; the local clock is close.
	return ObjectInfo{Key: key, Size: int64(len(data)), ETag: unquote(out.ETag), LastModified: time.Now()}, nil
}

// Delete implements Store (S3 deletes are idempotent).
func (s *S3Store) Delete(ctx context.Context, key string) error {
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		err = s.wrap(key, err)
		if errors.Is(err, ErrNotExist) {
			return nil
		}
		return err
	}
	return nil
}

// ---- multipart uploads ----

// NewUpload implements Store with a multipart upload, created here so that
// ListUploads and AbortUpload see it from the start. opts go with
// CreateMultipartUpload: S3 takes an object's metadata, encryption,
// storage class, ACL and tags there, not at completion.
func (s *S3Store) NewUpload(ctx context.Context, key string, opts ObjectOptions) (Upload, error) {
	out, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: &s.bucket, Key: &key,
		ContentType: optString(opts.ContentType), ContentEncoding: optString(opts.ContentEncoding),
		ServerSideEncryption: types.ServerSideEncryption(opts.SSE), SSEKMSKeyId: optString(opts.KMSKeyID),
		StorageClass: types.StorageClass(opts.StorageClass), ACL: types.ObjectCannedACL(opts.ACL), Tagging: optString(opts.Tagging()),
	})
	if err != nil {
		return nil, s.wrap(key, err)
	}
	u := &s3Upload{s: s, key: key, id: aws.ToString(out.UploadId), sem: make(chan struct{}, partsInFlight)}
	// Parts are sent in the background under ctx: cancelling it stops them
	// (the upload then fails, and the caller aborts it).
	u.ctx, u.cancel = context.WithCancel(ctx)
	return u, nil
}

// s3Upload buffers one part at a time and sends full parts in the
// background, at most partsInFlight at once.
type s3Upload struct {
	s       *S3Store
	key, id string
	ctx     context.Context // for background parts; cancelled by Abort
	cancel  context.CancelFunc

	buf  []byte
	next int32 // number of the next part
	size int64
	sem  chan struct{}
	wg   sync.WaitGroup
	done bool

	mu    sync.Mutex
	parts []Part
	err   error
}

func (u *s3Upload) firstErr() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.err
}

func (u *s3Upload) Write(p []byte) (int, error) {
	if u.done {
		return 0, fmt.Errorf("%s: write after Finish or Abort", u.s.keyURL(u.key))
	}
	if err := u.firstErr(); err != nil {
		return 0, err
	}
	n := 0
	for len(p) > 0 {
		if u.buf == nil {
			u.buf = make([]byte, 0, u.s.partSize)
		}
		k := min(len(p), int(u.s.partSize)-len(u.buf))
		u.buf = append(u.buf, p[:k]...)
		p = p[k:]
		n += k
		if int64(len(u.buf)) == u.s.partSize {
			if err := u.flush(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// flush sends the buffered part in the background.
func (u *s3Upload) flush() error {
	if u.next >= MaxParts {
		return fmt.Errorf("%s: object exceeds S3's %d parts of %d MiB; raise the part size",
			u.s.keyURL(u.key), MaxParts, u.s.partSize>>20)
	}
	u.next++
	num, data := u.next, u.buf
	u.buf = nil
	u.size += int64(len(data))
	select {
	case u.sem <- struct{}{}:
	case <-u.ctx.Done():
		return u.ctx.Err()
	}
	u.wg.Add(1)
	go func() {
		defer func() { <-u.sem; u.wg.Done() }()
		out, err := u.s.client.UploadPart(u.ctx, &s3.UploadPartInput{
			Bucket: &u.s.bucket, Key: &u.key, UploadId: &u.id,
			PartNumber: aws.Int32(num), Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))),
		})
		u.mu.Lock()
		defer u.mu.Unlock()
		if err != nil {
			if u.err == nil {
				u.err = fmt.Errorf("part %d: %w", num, u.s.wrap(u.key, err))
			}
			return
		}
		u.parts = append(u.parts, Part{Number: num, ETag: unquote(out.ETag), Size: int64(len(data))})
	}()
	return nil
}

// Finish implements Upload: it sends the last part (an empty object is one
// empty part) and waits for all parts; the object stays invisible.
func (u *s3Upload) Finish(ctx context.Context) (PendingUpload, error) {
	if u.done {
		return PendingUpload{}, fmt.Errorf("%s: upload already finished or aborted", u.s.keyURL(u.key))
	}
	u.done = true
	var err error
	if len(u.buf) > 0 || u.next == 0 {
		if u.buf == nil {
			u.buf = []byte{}
		}
		err = u.flush()
	}
	waited := make(chan struct{})
	go func() { u.wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-ctx.Done():
		u.cancel()
		<-waited
		return PendingUpload{}, ctx.Err()
	}
	if err == nil {
		err = u.firstErr()
	}
	if err != nil {
		return PendingUpload{}, err
	}
	parts := slices.Clone(u.parts)
	slices.SortFunc(parts, func(a, b Part) int { return int(a.Number - b.Number) })
	return PendingUpload{Key: u.key, UploadID: u.id, Parts: parts, Size: u.size}, nil
}

// Abort implements Upload.
func (u *s3Upload) Abort(ctx context.Context) error {
	u.done = true
	u.cancel()
	u.wg.Wait()
	return u.s.AbortUpload(ctx, PendingUpload{Key: u.key, UploadID: u.id})
}

// CompleteUpload implements Store. When S3 no longer knows the upload but
// the key holds an object of the upload's size, an earlier attempt whose
// answer was lost completed it, and this one succeeds.
func (s *S3Store) CompleteUpload(ctx context.Context, u PendingUpload) (ObjectInfo, error) {
	if len(u.Parts) == 0 {
		return ObjectInfo{}, fmt.Errorf("%s: upload %s has no parts", s.keyURL(u.Key), u.UploadID)
	}
	parts := make([]types.CompletedPart, len(u.Parts))
	for i, p := range u.Parts {
		parts[i] = types.CompletedPart{PartNumber: aws.Int32(p.Number), ETag: aws.String(quote(p.ETag))}
	}
	_, err := s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &s.bucket, Key: &u.Key, UploadId: &u.UploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		err = s.wrap(u.Key, err)
		if !errors.Is(err, ErrNotExist) {
			return ObjectInfo{}, err
		}
		info, herr := s.Head(ctx, u.Key)
		if herr == nil && info.Size == u.Size {
			return info, nil
		}
		return ObjectInfo{}, fmt.Errorf("%s: upload %s: %w", s.keyURL(u.Key), u.UploadID, ErrNotExist)
	}
	return s.Head(ctx, u.Key)
}

// AbortUpload implements Store; aborting an unknown upload succeeds.
func (s *S3Store) AbortUpload(ctx context.Context, u PendingUpload) error {
	_, err := s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &s.bucket, Key: &u.Key, UploadId: &u.UploadID})
	if err != nil {
		err = s.wrap(u.Key, err)
		if errors.Is(err, ErrNotExist) {
			return nil
		}
		return err
	}
	return nil
}

// ListUploads implements Store. Each upload's parts are listed too, so
// that an upload found after a crash can be completed as well as aborted.
func (s *S3Store) ListUploads(ctx context.Context, prefix string) ([]PendingUpload, error) {
	var out []PendingUpload
	req := &s3.ListMultipartUploadsInput{Bucket: &s.bucket, Prefix: aws.String(prefix)}
	for {
		page, err := s.client.ListMultipartUploads(ctx, req)
		if err != nil {
			return nil, s.wrap(prefix, err)
		}
		for _, up := range page.Uploads {
			pu := PendingUpload{Key: aws.ToString(up.Key), UploadID: aws.ToString(up.UploadId)}
			if err := s.listParts(ctx, &pu); err != nil {
				if errors.Is(err, ErrNotExist) {
					continue // completed or aborted meanwhile
				}
				return nil, err
			}
			out = append(out, pu)
		}
		if !aws.ToBool(page.IsTruncated) {
			break
		}
		req.KeyMarker, req.UploadIdMarker = page.NextKeyMarker, page.NextUploadIdMarker
	}
	slices.SortFunc(out, func(a, b PendingUpload) int {
		if c := strings.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return strings.Compare(a.UploadID, b.UploadID)
	})
	return out, nil
}

func (s *S3Store) listParts(ctx context.Context, pu *PendingUpload) error {
	req := &s3.ListPartsInput{Bucket: &s.bucket, Key: &pu.Key, UploadId: &pu.UploadID}
	for {
		page, err := s.client.ListParts(ctx, req)
		if err != nil {
			return s.wrap(pu.Key, err)
		}
		for _, p := range page.Parts {
			pu.Parts = append(pu.Parts, Part{Number: aws.ToInt32(p.PartNumber), ETag: unquote(p.ETag), Size: aws.ToInt64(p.Size)})
			pu.Size += aws.ToInt64(p.Size)
		}
		if !aws.ToBool(page.IsTruncated) {
			return nil
		}
		req.PartNumberMarker = page.NextPartNumberMarker
	}
}
