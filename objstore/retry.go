package objstore

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddle "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
)

// Retries and timeouts of S3 requests.
//
// The number of attempts and the retry mode are the AWS SDK's settings, so
// that what users set for the aws CLI applies to sluice too:
// AWS_MAX_ATTEMPTS / max_attempts (attempts per request, the first
// included) and AWS_RETRY_MODE / retry_mode (standard or adaptive) in the
// environment or the shared config profile. Without them: DefaultMaxAttempts,
// standard mode.
//
// Every retry is logged at info level through slog.Default() (operation,
// object, attempt, cause) and counted in the RetryCounter of the request's
// context, so a run can say how many of its requests needed another
// attempt instead of stalling in silence.
//
// Every attempt has a deadline (TimeoutEnv, default DefaultTimeout): that
// long for small requests; PutObject and UploadPart get one second more per
// MiB sent; CompleteMultipartUpload, which S3 may take minutes to finish for
// a large object, ten times it; a GetObject's response must start within
// it, and its body may then stall for no longer than it between two reads.
// An attempt cut off by its deadline is retried like a dropped connection.
const (
	// DefaultMaxAttempts is the attempts per request (first included)
	// when neither AWS_MAX_ATTEMPTS nor the profile's max_attempts says.
	// Enough to ride out a burst of 503 SlowDown (four backoffs of up to
	// 2, 4, 8 and 16 s: about 15 s on average, 30 s at most), short enough
	// that a server that keeps failing fails the run within a minute, not
	// after the two minutes the former fixed 10 attempts could take.
	DefaultMaxAttempts = 5
	// DefaultMaxBackoff caps the jittered exponential backoff between two
	// attempts.
	DefaultMaxBackoff = 20 * time.Second
	// DefaultTimeout is the per-attempt deadline of a small request.
	DefaultTimeout = 30 * time.Second
	// TimeoutEnv overrides DefaultTimeout: a Go duration such as "10s" or "2m".
	TimeoutEnv = "SLUICE_S3_TIMEOUT"
)

// RetryCounter counts the S3 requests retried under a context carrying it
// (WithRetryCounter), so that a run can report its retries. It is safe for
// concurrent use.
type RetryCounter struct{ n atomic.Int64 }

// Retries is the number of retried attempts counted so far.
func (c *RetryCounter) Retries() int64 { return c.n.Load() }

type retryCounterKey struct{}

// WithRetryCounter returns ctx counting, in c, every retry of an S3
// request made under it (also of requests a store makes in the background
// for an upload started under it).
func WithRetryCounter(ctx context.Context, c *RetryCounter) context.Context {
	return context.WithValue(ctx, retryCounterKey{}, c)
}

// timeoutFromEnv reads TimeoutEnv.
func timeoutFromEnv() (time.Duration, error) {
	v := os.Getenv(TimeoutEnv)
	if v == "" {
		return DefaultTimeout, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s=%q: not a positive duration such as \"30s\" or \"2m\"", TimeoutEnv, v)
	}
	return d, nil
}

// newRetryer builds the client's retryer: the SDK's standard or adaptive
// mode with sluice's vetoes (noRetry) and no retry quota, wrapped so that
// each retry is logged and counted.
func (s *S3Store) newRetryer(mode aws.RetryMode, maxAttempts int, maxBackoff time.Duration) aws.RetryerV2 {
	std := func(so *retry.StandardOptions) {
		so.MaxAttempts = maxAttempts
		so.MaxBackoff = maxBackoff
		so.Backoff = retry.NewExponentialJitterBackoff(maxBackoff)
		// A run is one client doing many requests; the SDK's retry quota
		// would turn a burst of 503s into hard failures.
		so.RateLimiter = ratelimit.None
		so.Retryables = append([]retry.IsErrorRetryable{noRetry{}}, so.Retryables...)
	}
	var r aws.RetryerV2
	if mode == aws.RetryModeAdaptive {
		// Adaptive adds a client-side send rate that backs off on
		// throttling, on top of the same retries.
		r = retry.NewAdaptiveMode(func(ao *retry.AdaptiveModeOptions) {
			ao.StandardOptions = append(ao.StandardOptions, std)
		})
	} else {
		r = retry.NewStandard(std)
	}
	return observedRetryer{RetryerV2: r, s: s}
}

// observedRetryer logs and counts every retry. The SDK asks for a retry
// token exactly when a failed attempt is retryable and attempts remain,
// just before it sleeps the backoff: the moment to say so.
type observedRetryer struct {
	aws.RetryerV2
	s *S3Store
}

func (r observedRetryer) GetRetryToken(ctx context.Context, opErr error) (func(error) error, error) {
	if c, ok := ctx.Value(retryCounterKey{}).(*RetryCounter); ok {
		c.n.Add(1)
	}
	op := opStateOf(ctx)
	attrs := []slog.Attr{slog.String("operation", awsmiddle.GetOperationName(ctx))}
	if op != nil {
		where := r.s.URL()
		if op.key != "" {
			where = r.s.keyURL(op.key)
		}
		attrs = append(attrs, slog.String("key", where), slog.Int("attempt", int(op.attempts.Load())+1))
	}
	attrs = append(attrs, slog.Int("max_attempts", r.MaxAttempts()), slog.String("error", r.s.cause(opErr).Error()))
	slog.Default().LogAttrs(ctx, slog.LevelInfo, "retrying S3 request", attrs...)
	return r.RetryerV2.GetRetryToken(ctx, opErr)
}

// opState is one S3 operation as the middlewares see it: what it is about
// (for log lines and deadlines) and how many attempts it has made.
type opState struct {
	key      string
	size     int64 // bytes sent (PutObject, UploadPart)
	attempts atomic.Int32
}

type opStateKey struct{}

func opStateOf(ctx context.Context) *opState {
	st, _ := ctx.Value(opStateKey{}).(*opState)
	return st
}

// observe adds sluice's middlewares to a client's stack: one that notes
// each operation's object (initialize step, once per operation) and one
// around each attempt, after the retry loop, that counts it and enforces
// its deadline.
func (s *S3Store) observe(stack *middleware.Stack) error {
	if err := stack.Initialize.Add(middleware.InitializeMiddlewareFunc("sluice/operation",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			st := &opState{}
			st.key, st.size = keyAndSize(in.Parameters)
			return next.HandleInitialize(context.WithValue(ctx, opStateKey{}, st), in)
		}), middleware.Before); err != nil {
		return err
	}
	return stack.Finalize.Insert(middleware.FinalizeMiddlewareFunc("sluice/attempt", s.attempt), "Retry", middleware.After)
}

// keyAndSize reads the Key and ContentLength fields every object
// operation's input has (reflection keeps this to one place, whatever the
// operation).
func keyAndSize(params any) (string, int64) {
	v := reflect.ValueOf(params)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return "", 0
	}
	v = v.Elem()
	var key string
	var size int64
	if f := v.FieldByName("Key"); f.IsValid() && f.Type() == reflect.TypeFor[*string]() && !f.IsNil() {
		key = f.Elem().String()
	}
	if f := v.FieldByName("ContentLength"); f.IsValid() && f.Type() == reflect.TypeFor[*int64]() && !f.IsNil() {
		size = f.Elem().Int()
	}
	return key, size
}

// deadline is an attempt's time limit (see the package comment above).
func (s *S3Store) deadline(op string, st *opState) time.Duration {
	d := s.timeout
	switch op {
	case "PutObject", "UploadPart":
		if st != nil {
			d += time.Duration(st.size>>20) * time.Second
		}
	case "CompleteMultipartUpload":
		d *= 10
	}
	return d
}

// attempt runs one attempt under its deadline. A GetObject returns with
// its body unread: the deadline then covers the response's start only,
// and the body is watched for stalls instead (watchedBody).
func (s *S3Store) attempt(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	st := opStateOf(ctx)
	if st != nil {
		st.attempts.Add(1)
	}
	op := awsmiddle.GetOperationName(ctx)
	limit := s.deadline(op, st)
	actx, cancel := context.WithCancel(ctx)
	var fired atomic.Bool
	timer := time.AfterFunc(limit, func() { fired.Store(true); cancel() })
	start := time.Now()
	out, md, err := next.HandleFinalize(actx, in)
	timer.Stop()
	if slog.Default().Enabled(ctx, slog.LevelDebug) {
		// -log-level debug: every request, with what it was about.
		attrs := []slog.Attr{slog.String("operation", op), slog.Duration("took", time.Since(start).Round(time.Microsecond))}
		if st != nil && st.key != "" {
			attrs = append(attrs, slog.String("key", st.key), slog.Int("attempt", int(st.attempts.Load())))
		}
		if err != nil {
			attrs = append(attrs, slog.String("error", err.Error()))
		}
		slog.Default().LogAttrs(ctx, slog.LevelDebug, "S3 request", attrs...)
	}
	if err != nil {
		cancel()
		if fired.Load() && ctx.Err() == nil {
			err = &attemptTimeout{op: op, after: limit}
		}
		return out, md, err
	}
	if get, ok := out.Result.(*s3.GetObjectOutput); ok && get.Body != nil {
		get.Body = newWatchedBody(get.Body, s.timeout, cancel, op)
		return out, md, nil
	}
	cancel()
	return out, md, nil
}

// attemptTimeout is an attempt cut off by its deadline. The SDK retries it
// (RetryableError); errors.Is does not see a context error in it, so it is
// never taken for the caller's cancellation.
type attemptTimeout struct {
	op    string
	after time.Duration
}

func (e *attemptTimeout) Error() string {
	return fmt.Sprintf("%s: no answer within %s (%s)", e.op, e.after, TimeoutEnv)
}
func (e *attemptTimeout) Timeout() bool        { return true }
func (e *attemptTimeout) RetryableError() bool { return true }

// watchedBody fails a read that blocks longer than idle (a connection
// that stopped delivering), by cancelling the attempt's context. Only time
// spent inside Read counts: a reader that pauses between reads is not a
// stall. Close releases the attempt's context.
type watchedBody struct {
	rc     io.ReadCloser
	idle   time.Duration
	cancel context.CancelFunc
	op     string
	timer  *time.Timer
	fired  atomic.Bool
}

func newWatchedBody(rc io.ReadCloser, idle time.Duration, cancel context.CancelFunc, op string) *watchedBody {
	b := &watchedBody{rc: rc, idle: idle, cancel: cancel, op: op}
	b.timer = time.AfterFunc(time.Hour, func() { b.fired.Store(true); b.cancel() })
	b.timer.Stop()
	return b
}

func (b *watchedBody) Read(p []byte) (int, error) {
	b.timer.Reset(b.idle)
	n, err := b.rc.Read(p)
	b.timer.Stop()
	if err != nil && err != io.EOF && b.fired.Load() {
		err = &attemptTimeout{op: b.op + " body", after: b.idle}
	}
	return n, err
}

func (b *watchedBody) Close() error {
	b.timer.Stop()
	err := b.rc.Close()
	b.cancel()
	return err
}
