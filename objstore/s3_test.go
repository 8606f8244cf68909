package objstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicedata/sluice/internal/s3test"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/objstore/objstoretest"
)

// openS3 opens bucket through Open and the environment, as sluice does.
func openS3(t *testing.T, bucket string, opts ...objstore.Option) objstore.Store {
	t.Helper()
	loc, err := objstore.Open(context.Background(), "s3://"+bucket+"/", opts...)
	if err != nil {
		t.Fatal(err)
	}
	return loc.Store
}

func TestS3Conformance(t *testing.T) {
	srv := s3test.Start(t)
	srv.SetEnv(t)
	var n atomic.Int32
	objstoretest.Run(t, func(t *testing.T) objstore.Store {
		bucket := fmt.Sprintf("conformance-%d", n.Add(1))
		srv.CreateBucket(t, bucket)
		return openS3(t, bucket, objstore.WithPartSize(objstore.MinPartSize))
	})
}

// Through the proxy: parts really are sent as they fill, at most two at a
// time, and a small object is one part.
func TestS3MultipartParts(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "parts")
	p := srv.Proxy(t)
	p.SetEnv(t)
	s := openS3(t, "parts", objstore.WithPartSize(objstore.MinPartSize))
	ctx := context.Background()

	u, err := s.NewUpload(ctx, "big", objstore.ObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte("x"), 1<<20)
	for range 12 {
		if _, err := u.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	// Two full parts (10 MiB) were sent before Finish.
	deadline := time.Now().Add(10 * time.Second)
	for p.Count(s3test.KindUploadPart) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := p.Count(s3test.KindUploadPart); got != 2 {
		t.Fatalf("UploadPart calls before Finish = %d, want 2", got)
	}
	pu, err := u.Finish(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(pu.Parts) != 3 || pu.Parts[2].Size != 2<<20 || pu.Size != 12<<20 {
		t.Fatalf("Finish = %+v, want 3 parts, the last of 2 MiB", pu)
	}
	if p.Count(s3test.KindCompleteMultipartUpload) != 0 {
		t.Fatalf("Finish completed the upload")
	}
	if _, err := s.CompleteUpload(ctx, pu); err != nil {
		t.Fatal(err)
	}

	// With slow parts, no more than two are in flight at once.
	p.Reset()
	p.SetFault(func(r *http.Request) s3test.Fault {
		if s3test.Classify(r).Kind == s3test.KindUploadPart {
			return s3test.Fault{Delay: 150 * time.Millisecond}
		}
		return s3test.Fault{}
	})
	slow, err := s.NewUpload(ctx, "slow", objstore.ObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for range 26 {
		if _, err := slow.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := slow.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	if got := p.MaxConcurrent(s3test.KindUploadPart); got != 2 {
		t.Fatalf("UploadPart calls in flight at most %d, want 2", got)
	}
	p.SetFault(nil)

	small, err := s.NewUpload(ctx, "small", objstore.ObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	small.Write([]byte("tiny"))
	spu, err := small.Finish(ctx)
	if err != nil || len(spu.Parts) != 1 {
		t.Fatalf("small upload = %+v, %v; want one part", spu, err)
	}
	if err := small.Abort(ctx); err != nil {
		t.Fatal(err)
	}
}

// A CompleteMultipartUpload whose answer is lost is retried by the SDK,
// gets NoSuchUpload, and is recognised as done.
func TestS3CompleteAmbiguous(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "amb")
	p := srv.Proxy(t)
	p.SetEnv(t)
	s := openS3(t, "amb")
	ctx := context.Background()
	u, err := s.NewUpload(ctx, "k", objstore.ObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	u.Write([]byte("payload"))
	pu, err := u.Finish(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p.SetFault(s3test.FirstN(1, func(r s3test.Request) bool { return r.Kind == s3test.KindCompleteMultipartUpload }, s3test.DropResponse))
	info, err := s.CompleteUpload(ctx, pu)
	if err != nil {
		t.Fatalf("CompleteUpload with a lost answer: %v", err)
	}
	if info.Size != 7 {
		t.Fatalf("info = %+v", info)
	}
	if got := p.Count(s3test.KindCompleteMultipartUpload); got < 2 {
		t.Fatalf("CompleteMultipartUpload sent %d times, want a retry", got)
	}
}

// 500s and 503 SlowDown are retried; 412 and 404 are not.
func TestS3Retries(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "retry")
	p := srv.Proxy(t)
	p.SetEnv(t)
	s := openS3(t, "retry", objstore.WithRetries(5, 50*time.Millisecond))
	ctx := context.Background()

	isPut := func(r s3test.Request) bool { return r.Kind == s3test.KindPutObject }
	p.SetFault(s3test.FirstN(2, isPut, s3test.SlowDown))
	if _, err := s.Put(ctx, "a", []byte("1"), objstore.PutOptions{}); err != nil {
		t.Fatalf("Put through two SlowDowns: %v", err)
	}
	p.SetFault(s3test.FirstN(1, isPut, s3test.InternalError))
	if _, err := s.Put(ctx, "b", []byte("1"), objstore.PutOptions{}); err != nil {
		t.Fatalf("Put through a 500: %v", err)
	}
	p.SetFault(s3test.FirstN(1, func(r s3test.Request) bool { return r.Kind == s3test.KindGetObject }, s3test.DropConn))
	if _, _, err := s.Get(ctx, "a"); err != nil {
		t.Fatalf("Get through a dropped connection: %v", err)
	}
	p.SetFault(nil)

	p.Reset()
	_, err := s.Put(ctx, "a", []byte("2"), objstore.PutOptions{IfNoneMatch: true})
	if !errors.Is(err, objstore.ErrPrecondition) {
		t.Fatalf("IfNoneMatch on an existing key: %v", err)
	}
	if got := p.Count(s3test.KindPutObject); got != 1 {
		t.Fatalf("a 412 was sent %d times, want 1 (no retry)", got)
	}
	p.Reset()
	if _, err := s.Head(ctx, "missing"); !errors.Is(err, objstore.ErrNotExist) {
		t.Fatalf("Head(missing): %v", err)
	}
	if got := p.Count(s3test.KindHeadObject); got != 1 {
		t.Fatalf("a 404 was sent %d times, want 1 (no retry)", got)
	}

	// Persistent 503s: the error says so, in one line.
	p.SetFault(func(*http.Request) s3test.Fault { return s3test.SlowDown })
	_, err = s.Put(ctx, "c", []byte("1"), objstore.PutOptions{})
	if err == nil || !strings.Contains(err.Error(), "s3://retry/c: server is throttling requests") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("persistent SlowDown: %v", err)
	}
}

// Errors are one line naming the URL and the cause, and never hold the
// secret key.
func TestS3ErrorMessages(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "exists")
	ctx := context.Background()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()

	cases := []struct {
		name   string
		env    func(t *testing.T)
		bucket string
		want   string
	}{
		{"closed port", func(t *testing.T) {
			srv.SetEnv(t)
			t.Setenv("AWS_ENDPOINT_URL_S3", closed)
		}, "exists", "s3://exists/some/key: cannot connect to endpoint " + closed + ": connection refused"},
		{"closed port, secret in the endpoint's userinfo", func(t *testing.T) {
			srv.SetEnv(t)
			t.Setenv("AWS_ENDPOINT_URL_S3", strings.Replace(closed, "://", "://admin:Endpo1ntSecret@", 1))
		}, "exists", "s3://exists/some/key: cannot connect to endpoint " + strings.Replace(closed, "://", "://***@", 1) + ": connection refused"},
		{"missing bucket, secret in the endpoint's userinfo", func(t *testing.T) {
			srv.SetEnv(t)
			t.Setenv("AWS_ENDPOINT_URL_S3", strings.Replace(srv.Endpoint(), "://", "://admin:Endpo1ntSecret@", 1))
		}, "nope", "s3://nope/some/key: "},
		{"missing bucket", func(t *testing.T) { srv.SetEnv(t) }, "nope", "s3://nope/some/key: bucket does not exist"},
		{"bad secret", func(t *testing.T) {
			srv.SetEnv(t)
			t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-1234567890")
		}, "exists", "s3://exists/some/key: access denied"},
		{"unknown key id", func(t *testing.T) {
			srv.SetEnv(t)
			t.Setenv("AWS_ACCESS_KEY_ID", "AKIANOTKNOWN")
		}, "exists", "s3://exists/some/key: access denied"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.env(t)
			s, err := objstore.NewS3(ctx, tc.bucket, objstore.WithRetries(2, 10*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			for _, op := range []func() error{
				func() error { _, err := s.Put(ctx, "some/key", []byte("x"), objstore.PutOptions{}); return err },
				func() error { _, _, err := s.Get(ctx, "some/key"); return err },
				func() error { _, err := s.Head(ctx, "some/key"); return err },
			} {
				err := op()
				if err == nil {
					t.Fatal("succeeded")
				}
				msg := err.Error()
				if !strings.HasPrefix(msg, tc.want) {
					t.Errorf("error %q, want it to start with %q", msg, tc.want)
				}
				if strings.Contains(msg, "\n") || objstore.Describe(err) != msg {
					t.Errorf("error is not one line: %q", msg)
				}
				for _, secret := range []string{srv.SecretKey(), "wrong-secret-1234567890", "Endpo1ntSecret", "admin:"} {
					if strings.Contains(msg, secret) {
						t.Errorf("error holds a secret: %q", msg)
					}
				}
				if errors.Is(err, objstore.ErrNotExist) {
					t.Errorf("%q is ErrNotExist: a caller would take it for a missing key", msg)
				}
			}
			if time.Since(start) > 10*time.Second {
				t.Errorf("failing took %v", time.Since(start))
			}
		})
	}
}

// The endpoint can come from AWS_ENDPOINT_URL as well as
// AWS_ENDPOINT_URL_S3, and multipart completion works with request
// checksums computed only when required, as with the SDK default.
func TestS3EnvVariants(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "env")
	for _, tc := range []struct {
		name string
		env  map[string]string
		opts []objstore.Option
	}{
		{"WithEndpoint", map[string]string{"AWS_ENDPOINT_URL_S3": ""}, []objstore.Option{objstore.WithEndpoint(srv.Endpoint())}},
		{"AWS_ENDPOINT_URL", map[string]string{"AWS_ENDPOINT_URL_S3": "", "AWS_ENDPOINT_URL": srv.Endpoint()}, nil},
		{"when_required", map[string]string{"AWS_REQUEST_CHECKSUM_CALCULATION": "when_required"}, nil},
		{"no region", map[string]string{"AWS_REGION": ""}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.SetEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			s := openS3(t, "env", append(tc.opts, objstore.WithPartSize(objstore.MinPartSize))...)
			ctx := context.Background()
			key := "k-" + tc.name
			u, err := s.NewUpload(ctx, key, objstore.ObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			u.Write(bytes.Repeat([]byte("y"), objstore.MinPartSize+10))
			pu, err := u.Finish(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.CompleteUpload(ctx, pu); err != nil {
				t.Fatal(err)
			}
			if info, err := s.Head(ctx, key); err != nil || info.Size != objstore.MinPartSize+10 {
				t.Fatalf("Head = %+v, %v", info, err)
			}
		})
	}
}

func TestS3NoCredentials(t *testing.T) {
	srv := s3test.Start(t)
	srv.SetEnv(t)
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("AWS_CONFIG_FILE", home+"/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", home+"/credentials")
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	s, err := objstore.NewS3(context.Background(), "any", objstore.WithRetries(1, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Head(context.Background(), "k")
	want := "s3://any/k: no usable AWS credentials"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("error %v, want %q", err, want)
	}
}

// ObjectOptions reach the server as S3's headers, on the requests that
// create objects (PutObject, CreateMultipartUpload) and on no other, and
// the gateway keeps what it stores (content type and encoding, tags). The
// zero options send none of them: the bucket's defaults apply.
func TestS3ObjectOptionsAtServer(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "opts")
	p := srv.Proxy(t)
	p.SetEnv(t)
	s := openS3(t, "opts", objstore.WithPartSize(objstore.MinPartSize))
	ctx := context.Background()
	o := objstore.ObjectOptions{
		ContentType: "text/csv", ContentEncoding: "gzip",
		SSE: "aws:kms", KMSKeyID: "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		StorageClass: "STANDARD_IA", ACL: "bucket-owner-full-control",
		Tags: map[string]string{"team": "data eng", "cost-center": "a+b=c"},
	}
	want := map[string]string{
		"Content-Type":                                "text/csv",
		"Content-Encoding":                            "gzip",
		"X-Amz-Server-Side-Encryption":                "aws:kms",
		"X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id": o.KMSKeyID,
		"X-Amz-Storage-Class":                         "STANDARD_IA",
		"X-Amz-Acl":                                   "bucket-owner-full-control",
		"X-Amz-Tagging":                               "cost-center=a%2Bb%3Dc&team=data%20eng",
	}
	if _, err := s.Put(ctx, "put.csv.gz", []byte("x"), objstore.PutOptions{Object: o}); err != nil {
		t.Fatal(err)
	}
	u, err := s.NewUpload(ctx, "up.csv.gz", o)
	if err != nil {
		t.Fatal(err)
	}
	u.Write(bytes.Repeat([]byte("z"), objstore.MinPartSize+1))
	pu, err := u.Finish(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CompleteUpload(ctx, pu); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []s3test.Kind{s3test.KindPutObject, s3test.KindCreateMultipartUpload} {
		reqs := p.RequestsOf(kind)
		if len(reqs) != 1 {
			t.Fatalf("%v: %d requests, want 1", kind, len(reqs))
		}
		for h, v := range want {
			if got := reqs[0].Header.Get(h); got != v {
				t.Errorf("%v at the server: %s = %q, want %q", kind, h, got, v)
			}
		}
	}
	// Parts and the completion carry none of them (S3 rejects encryption
	// headers on UploadPart of an SSE-S3/KMS upload).
	for _, kind := range []s3test.Kind{s3test.KindUploadPart, s3test.KindCompleteMultipartUpload} {
		for _, r := range p.RequestsOf(kind) {
			for _, h := range []string{"X-Amz-Server-Side-Encryption", "X-Amz-Storage-Class", "X-Amz-Acl", "X-Amz-Tagging"} {
				if v := r.Header.Get(h); v != "" {
					t.Errorf("%v sent %s: %q", kind, h, v)
				}
			}
		}
	}
	// What the gateway kept.
	c := srv.Client()
	for _, key := range []string{"put.csv.gz", "up.csv.gz"} {
		h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("opts"), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(h.ContentType) != "text/csv" || aws.ToString(h.ContentEncoding) != "gzip" {
			t.Errorf("%s stored as Content-Type %q, Content-Encoding %q", key, aws.ToString(h.ContentType), aws.ToString(h.ContentEncoding))
		}
		tg, err := c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String("opts"), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, tag := range tg.TagSet {
			got[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
		}
		if !maps.Equal(got, o.Tags) {
			t.Errorf("%s stored tags %v, want %v", key, got, o.Tags)
		}
	}

	// No options: no such header at all.
	p.Reset()
	if _, err := s.Put(ctx, "plain", []byte("x"), objstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if u, err = s.NewUpload(ctx, "plain-up", objstore.ObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	u.Abort(ctx)
	for _, kind := range []s3test.Kind{s3test.KindPutObject, s3test.KindCreateMultipartUpload} {
		r := p.RequestsOf(kind)[0]
		for h := range want {
			if h == "Content-Type" && kind == s3test.KindPutObject {
				continue // a body always has a type (the SDK's default)
			}
			if v := r.Header.Get(h); v != "" {
				t.Errorf("%v without options sent %s: %q", kind, h, v)
			}
		}
	}
}

// A request signed for another region than the bucket's fails with a hint
// that names the bucket's region and the variable to set — whether the
// server says so in an error body (AuthorizationHeaderMalformed, as
// versitygw and S3 do) or only in the x-amz-bucket-region header (S3's 301
// to a HEAD).
func TestS3RegionMismatch(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "regional")
	srv.SetEnv(t)
	t.Setenv("AWS_REGION", "eu-west-1")
	s := openS3(t, "regional", objstore.WithRetries(2, 10*time.Millisecond))
	ctx := context.Background()
	want := "s3://regional/k: the bucket is in us-east-1, but requests are signed for eu-west-1: set AWS_REGION=us-east-1 (or region in the AWS profile)"
	for name, op := range map[string]func() error{
		"Put":  func() error { _, err := s.Put(ctx, "k", []byte("x"), objstore.PutOptions{}); return err },
		"Get":  func() error { _, _, err := s.Get(ctx, "k"); return err },
		"Head": func() error { _, err := s.Head(ctx, "k"); return err },
		"List": func() error { _, err := s.List(ctx, objstore.ListInput{Prefix: "k"}); return err },
	} {
		err := op()
		if err == nil || objstore.Describe(err) != want {
			t.Errorf("%s signed for the wrong region: %v\nwant %s", name, err, want)
		}
		var re *objstore.RegionError
		if !errors.As(err, &re) || re.Region != "us-east-1" {
			t.Errorf("%s: not a RegionError: %v", name, err)
		}
	}

	// AWS answers a HEAD in the wrong region with a bodiless 301 that
	// names the bucket's region in a header.
	p := srv.Proxy(t)
	p.SetEnv(t)
	p.SetFault(func(r *http.Request) s3test.Fault {
		if s3test.Classify(r).Kind == s3test.KindHeadObject {
			return s3test.Fault{Status: http.StatusMovedPermanently, Code: "PermanentRedirect", Header: http.Header{"X-Amz-Bucket-Region": {"eu-central-1"}}}
		}
		return s3test.Fault{}
	})
	s = openS3(t, "regional")
	_, err := s.Head(ctx, "k")
	if want := "s3://regional/k: the bucket is in eu-central-1, but requests are signed for us-east-1: set AWS_REGION=eu-central-1"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Head answered 301 with x-amz-bucket-region: %v\nwant %s", err, want)
	}
}
