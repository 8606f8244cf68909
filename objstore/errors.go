package objstore

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// Describe renders an error of this package as the one line a user reads:
// the first line of its text. The stores already build short messages
// ("s3://b/k: bucket does not exist"); Describe only guarantees that
// nothing multi-line (an SDK's request dump) reaches a terminal.
func Describe(err error) string {
	if err == nil {
		return ""
	}
	line, _, _ := strings.Cut(err.Error(), "\n")
	return strings.TrimSpace(line)
}

// wrap turns an AWS SDK error into "s3://bucket/key: cause", where cause is
// one short sentence, wrapping ErrNotExist / ErrPrecondition / the context
// error where they apply. The SDK's own text (operation names, request ids,
// nested retry wrappers) is dropped; it never holds a secret, but it is
// noise to a user.
func (s *S3Store) wrap(key string, err error) error {
	where := s.keyURL(key)
	if key == "" {
		where = s.URL()
	}
	return s.scrub(fmt.Errorf("%s: %w", where, s.cause(err)))
}

// redactEndpoint returns an endpoint URL as messages show it, with its
// userinfo (http://user:password@host) replaced by "***", and the strings
// that no message may hold: the userinfo as written and unescaped, and
// its password alone (when longer than 3 bytes; a shorter one would
// garble messages and is no secret worth the name).
func redactEndpoint(raw string) (string, []string) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw, nil
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndex(rest[:end], "@")
	if at < 0 {
		return raw, nil
	}
	userinfo := rest[:at]
	secrets := []string{userinfo}
	if u, err := url.PathUnescape(userinfo); err == nil && u != userinfo {
		secrets = append(secrets, u)
	}
	if _, pw, ok := strings.Cut(userinfo, ":"); ok && len(pw) > 3 {
		secrets = append(secrets, pw)
		if u, err := url.PathUnescape(pw); err == nil && u != pw {
			secrets = append(secrets, u)
		}
	}
	return scheme + "://***@" + rest[at+1:], secrets
}

// scrubbed is an error whose message had the endpoint's secrets removed;
// it still unwraps to the cause (ErrNotExist, ErrPrecondition, ...).
type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }

// scrub removes the endpoint's userinfo from err's message, wherever the
// SDK or the network stack may have put the endpoint URL.
func (s *S3Store) scrub(err error) error {
	msg := err.Error()
	clean := msg
	for _, sec := range s.secrets {
		if sec != "" {
			clean = strings.ReplaceAll(clean, sec, "***")
		}
	}
	if clean == msg {
		return err
	}
	return &scrubbed{msg: clean, err: err}
}

func (s *S3Store) endpointName() string {
	if s.endpoint != "" {
		return s.endpoint
	}
	return "AWS S3"
}

func (s *S3Store) cause(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		if errors.Is(err, context.Canceled) {
			return context.Canceled
		}
		return context.DeadlineExceeded
	}
	attempts := ""
	var me *retry.MaxAttemptsError
	if errors.As(err, &me) {
		attempts = fmt.Sprintf(" (after %d attempts)", me.Attempt)
	}
	var at *attemptTimeout
	if errors.As(err, &at) {
		return fmt.Errorf("no answer from endpoint %s within %s%s; %s raises the limit", s.endpointName(), at.after, attempts, TimeoutEnv)
	}
	status := 0
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	if r := bucketRegion(err); r != "" && r != s.region {
		return &RegionError{Bucket: s.bucket, Region: r, Signed: s.region}
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code := ae.ErrorCode()
		switch {
		case code == "NoSuchBucket":
			return errors.New("bucket does not exist")
		case code == "NoSuchKey" || code == "NotFound" || code == "NoSuchUpload" || (status == 404 && code == ""):
			if code == "NoSuchUpload" {
				return fmt.Errorf("upload: %w", ErrNotExist)
			}
			return ErrNotExist
		case code == "PreconditionFailed" || code == "ConditionalRequestConflict" || status == 412:
			return ErrPrecondition
		case code == "InvalidAccessKeyId" || strings.HasSuffix(code, "UserNotFound"):
			return errors.New("access denied: the access key id is not known to the server (check credentials)")
		case code == "SignatureDoesNotMatch":
			return errors.New("access denied: request signature does not match (check the secret access key)")
		case code == "AccessDenied" || code == "Forbidden" || status == 403:
			return errors.New("access denied (check credentials)")
		case code == "InvalidRange":
			return errors.New("requested range is beyond the end of the object")
		case code == "SlowDown" || status == 503:
			return fmt.Errorf("server is throttling requests (503 SlowDown)%s", attempts)
		}
		msg := Describe(errors.New(ae.ErrorMessage()))
		if status != 0 {
			return fmt.Errorf("%s (HTTP %d): %s%s", code, status, msg, attempts)
		}
		return fmt.Errorf("%s: %s%s", code, msg, attempts)
	}
	if status != 0 {
		return fmt.Errorf("HTTP %d%s", status, attempts)
	}
	msg := err.Error()
	switch {
	case isConnRefused(err):
		return fmt.Errorf("cannot connect to endpoint %s: connection refused", s.endpointName())
	case strings.Contains(msg, "retrieve credentials") || strings.Contains(msg, "refresh cached credentials") ||
		strings.Contains(msg, "no EC2 IMDS role") || strings.Contains(msg, "static credentials are empty"):
		return errors.New("no usable AWS credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)")
	}
	var unknownCA x509.UnknownAuthorityError
	var badHost x509.HostnameError
	switch {
	case errors.As(err, &unknownCA):
		return fmt.Errorf("the TLS certificate of endpoint %s is signed by an authority this machine does not trust: set AWS_CA_BUNDLE to that CA's PEM file", s.endpointName())
	case errors.As(err, &badHost):
		return fmt.Errorf("the TLS certificate of endpoint %s is not valid for %s", s.endpointName(), badHost.Host)
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return fmt.Errorf("cannot resolve endpoint host %s", dnsErr.Name)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("request to endpoint %s timed out%s", s.endpointName(), attempts)
	}
	if errors.Is(err, syscall.ECONNRESET) || strings.Contains(msg, "connection reset") || strings.Contains(msg, "EOF") {
		return fmt.Errorf("connection to endpoint %s lost%s", s.endpointName(), attempts)
	}
	// Unknown: the innermost error is usually the informative one.
	inner := err
	for {
		u := errors.Unwrap(inner)
		if u == nil {
			break
		}
		inner = u
	}
	return fmt.Errorf("%s%s", Describe(inner), attempts)
}

// RegionError is a request signed for another region than the bucket's:
// S3 refuses it (400 AuthorizationHeaderMalformed, or 301 with the bucket's
// region in a header), and the fix is the user's configuration.
type RegionError struct {
	Bucket, Region string // the bucket and the region it is in
	Signed         string // the region the request was signed for
}

func (e *RegionError) Error() string {
	return fmt.Sprintf("the bucket is in %s, but requests are signed for %s: set AWS_REGION=%s (or region in the AWS profile)", e.Region, e.Signed, e.Region)
}

// expectingRegion finds the region S3 (or versitygw) names in an
// AuthorizationHeaderMalformed message: "the region 'us-east-1' is wrong;
// expecting 'eu-west-1'".
var expectingRegion = regexp.MustCompile(`expecting ['"]([a-z0-9-]+)['"]`)

// bucketRegion is the bucket's region as an S3 error states it: the
// x-amz-bucket-region header (301 and most 400/403 answers from AWS), or
// the expected region of a malformed-authorization message; "" if the
// error says nothing about regions.
func bucketRegion(err error) string {
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		if r := re.Response.Header.Get("X-Amz-Bucket-Region"); r != "" && (re.HTTPStatusCode() == 301 || re.HTTPStatusCode() == 400 || re.HTTPStatusCode() == 403) {
			return r
		}
	}
	var ae smithy.APIError
	if errors.As(err, &ae) && (ae.ErrorCode() == "AuthorizationHeaderMalformed" || ae.ErrorCode() == "PermanentRedirect") {
		if m := expectingRegion.FindStringSubmatch(ae.ErrorMessage()); m != nil {
			return m[1]
		}
	}
	return ""
}

// bodyless reports an error answer to a HEAD, which has no body to say
// what is wrong (a wrong region, a malformed request): a listing, whose
// error has one, can tell.
func bodyless(err error) bool {
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		return false
	}
	st := re.HTTPStatusCode()
	return st == 301 || st == 400
}

func isConnRefused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || strings.Contains(err.Error(), "connection refused")
}
