package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicedata/sluice/internal/s3test"
)

// s3OptionsConfig has three pipelines into one bucket: Parquet with every
// setting of the s3 block, gzip NDJSON with a quarantine and SSE-S3 only,
// and CSV without an s3 block (the first and last read only the good
// file). State lives in the same bucket.
const s3OptionsConfig = `
state {
  url = "s3://lake/state/"
}

pipeline "full" {
  source "raw" {
    url     = "IN/"
    format  = "json"
    include = ["b.json"]
    column "id" {
      type = "int64"
    }
  }
  sink "out" {
    url = "s3://lake/full/"
    s3 {
      sse           = "aws:kms"
      kms_key_id    = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
      storage_class = "STANDARD_IA"
      acl           = "bucket-owner-full-control"
      tags = {
        team          = "data"
        "cost-center" = "42 / eu"
      }
    }
  }
}

pipeline "gz" {
  source "raw" {
    url           = "IN/"
    format        = "json"
    on_bad_record = "quarantine"
    column "id" {
      type = "int64"
    }
  }
  sink "out" {
    url         = "s3://lake/gz/"
    format      = "json"
    compression = "gzip"
    s3 {}
  }
}

pipeline "plain" {
  source "raw" {
    url     = "IN/"
    format  = "json"
    include = ["b.json"]
    column "id" {
      type = "int64"
    }
  }
  sink "out" {
    url    = "s3://lake/plain/"
    format = "csv"
  }
}
`

// A real `sluice plan` shows the s3 block, and a real `sluice apply`
// sends its settings with every object it writes under the sink —
// outputs, quarantine files, commit manifests — as the S3 server sees the
// requests; a sink without the block sends none of them, and state
// objects never get a sink's settings. The gateway stores the content
// types.
func TestS3SinkSettingsAtServer(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "lake")
	p := srv.Proxy(t)
	p.SetEnv(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	if err := os.MkdirAll(in, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(in, "a.json"), []byte("{\"id\":1}\n{\"id\":\"not a number\"}\n{\"id\":3}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "conf")
	if err := os.MkdirAll(conf, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := strings.ReplaceAll(s3OptionsConfig, "IN/", in+"/")
	if err := os.WriteFile(filepath.Join(in, "b.json"), []byte("{\"id\":2}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(conf, "main.hcl"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}

	var stdout, stderr bytes.Buffer
	if code := run([]string{"plan", conf}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("plan: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	for _, want := range []string{
		`, s3: sse aws:kms key arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab, storage_class STANDARD_IA, acl bucket-owner-full-control, tags cost-center="42 / eu" team="data"  [`,
		"s3://lake/gz/ (json, mode append, committer atomic), s3: sse AES256  [",
		"s3://lake/plain/ (csv, mode append, committer atomic)  [",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("plan does not show %q:\n%s", want, stdout.String())
		}
	}

	p.Reset()
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"apply", "-auto-approve", conf}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}

	full := map[string]string{
		"X-Amz-Server-Side-Encryption":                "aws:kms",
		"X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		"X-Amz-Storage-Class":                         "STANDARD_IA",
		"X-Amz-Acl":                                   "bucket-owner-full-control",
		"X-Amz-Tagging":                               "cost-center=42%20%2F%20eu&team=data",
	}
	sseOnly := map[string]string{"X-Amz-Server-Side-Encryption": "AES256"}
	without := func(m map[string]string, drop ...string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			out[k] = v
		}
		for _, k := range drop {
			delete(out, k)
		}
		return out
	}
	type want struct {
		kind    s3test.Kind
		prefix  string
		ctype   string
		enc     string
		headers map[string]string
	}
	wants := []want{
		{s3test.KindCreateMultipartUpload, "full/part-", "application/vnd.apache.parquet", "", full},
		{s3test.KindPutObject, "full/_sluice/commits/", "application/json", "", without(full, "X-Amz-Storage-Class")},
		{s3test.KindCreateMultipartUpload, "gz/part-", "application/x-ndjson", "gzip", sseOnly},
		{s3test.KindCreateMultipartUpload, "gz/_sluice/bad/", "application/x-ndjson", "", sseOnly},
		{s3test.KindPutObject, "gz/_sluice/commits/", "application/json", "", sseOnly},
		{s3test.KindCreateMultipartUpload, "plain/part-", "text/csv", "", nil},
		{s3test.KindPutObject, "plain/_sluice/commits/", "application/json", "", nil},
	}
	settings := []string{"X-Amz-Server-Side-Encryption", "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id", "X-Amz-Storage-Class", "X-Amz-Acl", "X-Amz-Tagging"}
	for _, w := range wants {
		n := 0
		for _, r := range p.RequestsOf(w.kind) {
			if !strings.HasPrefix(r.Key, w.prefix) {
				continue
			}
			n++
			if got := r.Header.Get("Content-Type"); got != w.ctype {
				t.Errorf("%v %s: Content-Type %q, want %q", w.kind, r.Key, got, w.ctype)
			}
			if got := r.Header.Get("Content-Encoding"); got != w.enc {
				t.Errorf("%v %s: Content-Encoding %q, want %q", w.kind, r.Key, got, w.enc)
			}
			for _, h := range settings {
				if got := r.Header.Get(h); got != w.headers[h] {
					t.Errorf("%v %s: %s = %q, want %q", w.kind, r.Key, h, got, w.headers[h])
				}
			}
		}
		if n == 0 {
			t.Errorf("no %v request for %s* reached the server", w.kind, w.prefix)
		}
	}
	// The state is not under a sink: none of its writes carries a sink's settings.
	for _, r := range p.RequestsOf(s3test.KindPutObject) {
		if strings.HasPrefix(r.Key, "state/") {
			for _, h := range settings {
				if v := r.Header.Get(h); v != "" {
					t.Errorf("state write %s sent %s = %q", r.Key, h, v)
				}
			}
		}
	}

	// What the gateway stored.
	c := srv.Client()
	ctx := context.Background()
	stored := map[string]string{"full/": "application/vnd.apache.parquet", "gz/": "application/x-ndjson", "plain/": "text/csv"}
	for prefix, ctype := range stored {
		out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("lake"), Prefix: aws.String(prefix + "part-")})
		if err != nil || len(out.Contents) == 0 {
			t.Fatalf("outputs under %s: %v, %v", prefix, out, err)
		}
		h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("lake"), Key: out.Contents[0].Key})
		if err != nil {
			t.Fatal(err)
		}
		if got := aws.ToString(h.ContentType); got != ctype {
			t.Errorf("%s stored with Content-Type %q, want %q", aws.ToString(out.Contents[0].Key), got, ctype)
		}
	}
}
