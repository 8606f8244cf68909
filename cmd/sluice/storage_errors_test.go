package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicedata/sluice/internal/s3test"
)

// A plan over storage it cannot use fails with exit 1 and one line naming
// the URL and the cause — never a stack trace, never a credential.
func TestPlanStorageErrors(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "lake")
	dir := t.TempDir()
	writeConfig := func(bucket string) string {
		cfg := filepath.Join(dir, bucket)
		if err := os.MkdirAll(cfg, 0o755); err != nil {
			t.Fatal(err)
		}
		hcl := `
state {
  url = "` + filepath.Join(dir, "state-"+bucket) + `"
}
pipeline "p" {
  source "s" {
    url    = "s3://` + bucket + `/raw/"
    format = "json"
    column "id" {
      type = "string"
    }
  }
  sink "k" {
    url = "` + filepath.Join(dir, "out-"+bucket) + `"
  }
}
`
		if err := os.WriteFile(filepath.Join(cfg, "main.hcl"), []byte(hcl), 0o644); err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	cases := []struct {
		name, bucket, endpoint, key, secret, want string
	}{
		{"unreachable endpoint", "closed", "http://127.0.0.1:1", srv.AccessKey(), srv.SecretKey(), "s3://closed"},
		{"missing bucket", "nosuchbucket", srv.Endpoint(), srv.AccessKey(), srv.SecretKey(), "s3://nosuchbucket"},
		{"bad credentials", "lake", srv.Endpoint(), srv.AccessKey(), "wrong-secret-0123456789", "s3://lake"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
			t.Setenv("AWS_REGION", "us-east-1")
			t.Setenv("AWS_ENDPOINT_URL_S3", c.endpoint)
			t.Setenv("AWS_ACCESS_KEY_ID", c.key)
			t.Setenv("AWS_SECRET_ACCESS_KEY", c.secret)
			var stdout, stderr bytes.Buffer
			code := run([]string{"plan", writeConfig(c.bucket)}, strings.NewReader(""), &stdout, &stderr)
			msg := stderr.String()
			if code != 1 {
				t.Fatalf("exit %d, want 1; stderr:\n%s", code, msg)
			}
			if lines := strings.Split(strings.TrimSpace(msg), "\n"); len(lines) != 1 {
				t.Fatalf("want one line, got %d:\n%s", len(lines), msg)
			}
			if !strings.Contains(msg, c.want) {
				t.Fatalf("message does not name %s:\n%s", c.want, msg)
			}
			for _, secret := range []string{c.secret, srv.SecretKey(), "goroutine ", ".go:"} {
				if strings.Contains(msg, secret) {
					t.Fatalf("message contains %q:\n%s", secret, msg)
				}
			}
			t.Logf("%s", strings.TrimSpace(msg))
		})
	}
}
