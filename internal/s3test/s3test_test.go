package s3test_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/sluicedata/sluice/internal/s3test"
)

func TestServerAndProxy(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "bkt")
	ctx := context.Background()

	// The gateway stores objects as files under DataDir/<bucket>/.
	c := srv.Client()
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("dt=1/x"), Body: strings.NewReader("hello")}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(srv.DataDir() + "/bkt/dt=1/x"); err != nil || string(b) != "hello" {
		t.Fatalf("object on disk: %q, %v", b, err)
	}

	p := srv.Proxy(t)
	pc := p.Client()
	for _, prefix := range []string{"dt=1/", "dt=2/"} {
		if _, err := pc.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("bkt"), Prefix: aws.String(prefix), Delimiter: aws.String("/")}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := pc.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("dt=1/x")})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if string(body) != "hello" {
		t.Fatalf("GetObject through the proxy = %q", body)
	}
	if got := p.ListedPrefixes(); !slices.Equal(got, []string{"dt=1/", "dt=2/"}) {
		t.Fatalf("ListedPrefixes = %v", got)
	}
	if n := p.CountWhere(func(r s3test.Request) bool {
		return r.Kind == s3test.KindListObjectsV2 && r.Query.Get("prefix") == "dt=2/"
	}); n != 1 {
		t.Fatalf("ListObjectsV2 with prefix dt=2/: %d", n)
	}
	if n := p.Count(s3test.KindGetObject); n != 1 {
		t.Fatalf("GetObject count %d", n)
	}
	if r := p.Requests()[2]; r.Bucket != "bkt" || r.Key != "dt=1/x" || r.Method != "GET" {
		t.Fatalf("recorded request %+v", r)
	}

	// Injected answers reach the client as S3 errors.
	for _, f := range []s3test.Fault{s3test.SlowDown, s3test.InternalError} {
		p.SetFault(func(*http.Request) s3test.Fault { return f })
		_, err := pc.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("bkt")})
		var re *awshttp.ResponseError
		if !errors.As(err, &re) || re.HTTPStatusCode() != f.Status {
			t.Fatalf("fault %+v: %v", f, err)
		}
		_, err = pc.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("dt=1/x")})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != f.Code {
			t.Fatalf("fault %+v: %v", f, err)
		}
	}
	// A dropped connection is a transport error, not an HTTP answer.
	p.SetFault(func(*http.Request) s3test.Fault { return s3test.DropConn })
	_, err = pc.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("dt=1/x")})
	var re *awshttp.ResponseError
	if err == nil || errors.As(err, &re) && re.HTTPStatusCode() != 0 {
		t.Fatalf("dropped connection: %v", err)
	}
	// DropResponse: the server acts, the client hears nothing.
	p.SetFault(func(*http.Request) s3test.Fault { return s3test.DropResponse })
	_, err = pc.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("ambiguous"), Body: strings.NewReader("x")})
	if err == nil {
		t.Fatalf("DropResponse: the client got an answer")
	}
	if _, err := os.Stat(srv.DataDir() + "/bkt/ambiguous"); err != nil {
		t.Fatalf("DropResponse: the server did not act: %v", err)
	}
	// Latency.
	p.SetFault(func(*http.Request) s3test.Fault { return s3test.Fault{Delay: 200 * time.Millisecond} })
	start := time.Now()
	if _, err := pc.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("Delay: answered in %v", d)
	}
	// FirstN: only the first n matching requests are faulted.
	p.SetFault(s3test.FirstN(1, func(r s3test.Request) bool { return r.Kind == s3test.KindHeadBucket }, s3test.InternalError))
	if _, err := pc.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("bkt")}); err == nil {
		t.Fatal("FirstN: first request not faulted")
	}
	if _, err := pc.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatalf("FirstN: second request faulted: %v", err)
	}
}

func TestEnv(t *testing.T) {
	srv := s3test.Start(t)
	env := strings.Join(srv.Env(), "\n")
	for _, want := range []string{"AWS_ACCESS_KEY_ID=" + srv.AccessKey(), "AWS_SECRET_ACCESS_KEY=" + srv.SecretKey(),
		"AWS_REGION=us-east-1", "AWS_ENDPOINT_URL_S3=" + srv.Endpoint(), "AWS_EC2_METADATA_DISABLED=true"} {
		if !strings.Contains(env, want) {
			t.Errorf("Env lacks %s", want)
		}
	}
	if !strings.HasPrefix(srv.Endpoint(), "http://127.0.0.1:") {
		t.Errorf("Endpoint %s is not loopback", srv.Endpoint())
	}
	p := srv.Proxy(t)
	if !slices.Contains(p.Env(), "AWS_ENDPOINT_URL_S3="+p.Endpoint()) {
		t.Errorf("Proxy.Env = %v", p.Env())
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		method, target string
		want           s3test.Kind
	}{
		{"GET", "/b?list-type=2&prefix=x%2F", s3test.KindListObjectsV2},
		{"GET", "/b?uploads&prefix=x", s3test.KindListMultipartUploads},
		{"GET", "/b/k/e%20y?x-id=GetObject", s3test.KindGetObject},
		{"HEAD", "/b/k", s3test.KindHeadObject},
		{"PUT", "/b/k", s3test.KindPutObject},
		{"PUT", "/b/k?partNumber=2&uploadId=u", s3test.KindUploadPart},
		{"POST", "/b/k?uploads", s3test.KindCreateMultipartUpload},
		{"POST", "/b/k?uploadId=u", s3test.KindCompleteMultipartUpload},
		{"DELETE", "/b/k?uploadId=u", s3test.KindAbortMultipartUpload},
		{"GET", "/b/k?uploadId=u", s3test.KindListParts},
		{"DELETE", "/b/k", s3test.KindDeleteObject},
		{"PUT", "/b", s3test.KindCreateBucket},
		{"GET", "/", s3test.KindListBuckets},
	} {
		r, _ := http.NewRequest(tc.method, "http://127.0.0.1"+tc.target, nil)
		if got := s3test.Classify(r); got.Kind != tc.want {
			t.Errorf("%s %s = %v, want %v", tc.method, tc.target, got.Kind, tc.want)
		}
	}
	r, _ := http.NewRequest("GET", "http://127.0.0.1/b/dir/e%20y", nil)
	if got := s3test.Classify(r); got.Bucket != "b" || got.Key != "dir/e y" {
		t.Errorf("Classify = %+v", got)
	}
	// Virtual-hosted under localhost: the bucket is in the host name.
	r, _ = http.NewRequest("PUT", "http://b.localhost:9000/dir/k", nil)
	if got := s3test.Classify(r); got.Kind != s3test.KindPutObject || got.Bucket != "b" || got.Key != "dir/k" || got.Host != "b.localhost:9000" {
		t.Errorf("Classify(virtual-hosted) = %+v", got)
	}
}

func TestBinaryMissing(t *testing.T) {
	t.Setenv("SLUICE_VERSITYGW", "/nonexistent/versitygw")
	if _, err := s3test.Binary(); err == nil || !strings.Contains(err.Error(), "/nonexistent/versitygw") {
		t.Fatalf("Binary with a wrong SLUICE_VERSITYGW: %v", err)
	}
	t.Setenv("SLUICE_VERSITYGW", "")
	t.Setenv("PATH", t.TempDir())
	t.Chdir(t.TempDir()) // no go.mod above, no .tools
	_, err := s3test.Binary()
	if err == nil || !strings.Contains(err.Error(), "run `make tools`") {
		t.Fatalf("Binary with nothing installed: %v", err)
	}
}
