package main

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicedata/sluice/internal/s3test"
)

// SLUICE_S3_ADDRESSING, as the server sees it: virtual-hosted requests
// name the bucket in the Host header (lake.localhost:PORT), path-style
// ones in the path, and unset means path-style with a custom endpoint.
//
// A virtual-hosted bucket needs its host name resolved; *.localhost does
// not resolve here, and a test must not ask a DNS server. So the sluice
// subprocess gets HTTP_PROXY set to the s3test proxy: Go's client sends
// every request for a host that is not loopback to it, by name, unresolved,
// and the proxy forwards to a gateway serving virtual hosts under
// localhost.
func TestS3AddressingAtServer(t *testing.T) {
	if _, err := exec.LookPath("sluice"); err != nil {
		t.Fatalf("sluice is not on PATH (TestMain puts the test binary there): %v", err)
	}
	srv := s3test.StartWith(t, s3test.Options{VirtualDomain: "localhost"})
	srv.CreateBucket(t, "lake")
	if _, err := srv.Client().PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String("lake"), Key: aws.String("raw/a.json"), Body: strings.NewReader("{\"id\":1}\n")}); err != nil {
		t.Fatal(err)
	}
	p := srv.Proxy(t)
	dir := t.TempDir()
	cfg := `
state {
  url = "` + filepath.Join(dir, "state") + `"
}
pipeline "p" {
  source "raw" {
    url    = "s3://lake/raw/"
    format = "json"
    column "id" {
      type = "int64"
    }
  }
  sink "out" {
    url = "` + filepath.Join(dir, "out") + `"
  }
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	srvPort := mustURL(t, srv.Endpoint()).Port()
	proxyPort := mustURL(t, p.Endpoint()).Port()
	plan := func(env ...string) (int, string) {
		cmd := exec.Command("sluice", "plan", dir)
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
			"AWS_ACCESS_KEY_ID=" + srv.AccessKey(), "AWS_SECRET_ACCESS_KEY=" + srv.SecretKey(),
			"AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true"}, env...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), out.String()
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, out.String()
	}
	cases := []struct {
		name     string
		env      []string
		wantHost string
		virtual  bool
	}{
		{"virtual", []string{"SLUICE_S3_ADDRESSING=virtual", "AWS_ENDPOINT_URL_S3=http://localhost:" + srvPort, "HTTP_PROXY=" + p.Endpoint()},
			"lake.localhost:" + srvPort, true},
		{"unset: path-style with a custom endpoint", []string{"AWS_ENDPOINT_URL_S3=" + p.Endpoint()}, "127.0.0.1:" + proxyPort, false},
		{"path", []string{"SLUICE_S3_ADDRESSING=path", "AWS_ENDPOINT_URL_S3=http://localhost:" + proxyPort}, "localhost:" + proxyPort, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p.Reset()
			code, out := plan(tc.env...)
			if code != 0 || !strings.Contains(out, "Pipeline p (work to do)") {
				t.Fatalf("plan: exit %d\n%s", code, out)
			}
			lists := p.RequestsOf(s3test.KindListObjectsV2)
			if len(lists) == 0 {
				t.Fatalf("no listing reached the server:\n%s", out)
			}
			for _, r := range lists {
				if r.Host != tc.wantHost || r.Bucket != "lake" {
					t.Errorf("ListObjectsV2 arrived for Host %q, bucket %q; want Host %q", r.Host, r.Bucket, tc.wantHost)
				}
			}
		})
	}
	code, out := plan("SLUICE_S3_ADDRESSING=dns", "AWS_ENDPOINT_URL_S3="+p.Endpoint())
	if code != 1 || !strings.Contains(out, `SLUICE_S3_ADDRESSING="dns": use "path" or "virtual"`) {
		t.Errorf("SLUICE_S3_ADDRESSING=dns: exit %d\n%s", code, out)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
