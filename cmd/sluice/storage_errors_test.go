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

// apply -json reports a failure to plan (or to load the configuration, or
// to read the plan file) as the documented error event on stdout; the
// human line stays on stderr.
func TestApplyJSONReportsPlanFailure(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "conf")
	bad := filepath.Join(dir, "bad")
	for d, body := range map[string]string{
		conf: `
state { url = "` + filepath.Join(dir, "state") + `" }
pipeline "p" {
  source "s" {
    url    = "s3://closed/raw/"
    format = "json"
    column "id" { type = "string" }
  }
  sink "k" { url = "` + filepath.Join(dir, "out") + `" }
}
`,
		bad: `pipeline "p" {`,
	} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "main.hcl"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	notPlan := filepath.Join(dir, "not.plan")
	if err := os.WriteFile(notPlan, []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ENDPOINT_URL_S3", "http://admin:Endpo1ntSecret@127.0.0.1:1")
	t.Setenv("AWS_ACCESS_KEY_ID", "k")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "s")
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"storage", []string{"apply", "-json", "-auto-approve", conf}, 1, "s3://closed"},
		{"invalid configuration", []string{"apply", "-json", "-auto-approve", bad}, 4, `"diagnostics":[{"severity":"error"`},
		{"unreadable plan file", []string{"apply", "-json", notPlan}, 1, "plan file is corrupt"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(c.args, strings.NewReader(""), &stdout, &stderr)
			if code != c.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, c.code, stderr.String())
			}
			lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], `"type":"error"`) || !strings.Contains(lines[0], c.want) {
				t.Fatalf("stdout, want one error event naming %q:\n%s", c.want, stdout.String())
			}
			if strings.Contains(stdout.String()+stderr.String(), "Endpo1ntSecret") {
				t.Fatalf("output holds the endpoint's secret:\n%s\n%s", stdout.String(), stderr.String())
			}
			if stderr.Len() == 0 {
				t.Fatal("nothing on stderr")
			}
		})
	}
}
