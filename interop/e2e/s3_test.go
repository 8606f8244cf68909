package e2e

import (
	"context"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicedata/sluice/internal/s3test"
	"github.com/sluicedata/sluice/interop/duck"
)

// uploadDir puts every file under dir into bucket under prefix, keeping
// relative paths (the hive layout).
func uploadDir(t *testing.T, c *s3.Client, dir, bucket, prefix string) int {
	t.Helper()
	ctx := context.Background()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		key := path.Join(prefix, filepath.ToSlash(rel))
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: f}); err != nil {
			return err
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatalf("upload %s: %v", dir, err)
	}
	return n
}

// downloadPrefix copies every object under bucket/prefix into dir and
// returns the keys, sorted, with their ETags (to compare two listings).
// DuckDB here has no S3 extension: it reads the local copy.
func downloadPrefix(t *testing.T, c *s3.Client, bucket, prefix, dir string) []string {
	t.Helper()
	ctx := context.Background()
	var keys []string
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("list s3://%s/%s: %v", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			keys = append(keys, key+" "+aws.ToString(o.ETag))
			out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
			if err != nil {
				t.Fatalf("get s3://%s/%s: %v", bucket, key, err)
			}
			dst := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(key, prefix)))
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(out.Body)
			out.Body.Close()
			if err != nil {
				t.Fatalf("get s3://%s/%s: %v", bucket, key, err)
			}
			if err := os.WriteFile(dst, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return keys
}

// startS3 starts the S3 gateway on loopback with the given buckets.
func startS3(t *testing.T, buckets ...string) *s3test.Server {
	t.Helper()
	if os.Getenv("SLUICE_VERSITYGW") == "" {
		// make exports it; s3test looks for .tools/ above the working
		// directory, which from this module is interop/, not the repository.
		t.Setenv("SLUICE_VERSITYGW", filepath.Join(repoRoot(t), ".tools", "versitygw"))
	}
	srv := s3test.Start(t)
	for _, b := range buckets {
		srv.CreateBucket(t, b)
	}
	return srv
}

// TestJSONOnS3 is the JSON case with source, sink and state on a real S3
// server (versitygw on loopback).
func TestJSONOnS3(t *testing.T) {
	sluiceBin(t)
	c := formatCases[0]
	fx := newFixture(t, c, 12)
	srv := startS3(t, "raw", "lake")
	client := srv.Client()
	if n := uploadDir(t, client, fx.raw, "raw", "events"); n != 12 {
		t.Fatalf("uploaded %d files, want 12", n)
	}
	fx.cfg.SourceURL = "s3://raw/events/"
	fx.cfg.SinkURL = "s3://lake/out/"
	fx.cfg.StateURL = "s3://lake/state/"
	writeConfig(t, fx.cfg, fx.conf)
	env := srv.Env()

	start := time.Now()
	apply(t, env, fx.conf)
	t.Logf("apply on S3 took %v", time.Since(start))
	local := filepath.Join(fx.root, "s3out")
	first := downloadPrefix(t, client, "lake", "out/", local)
	db := openDuck(t)
	expected := duck.Select(rawRelation(c.format, fx.raw), selectedCols(), c.sqlWhere)
	rows := compareOutput(t, db, expected, local, selectedCols(), "dt")
	t.Logf("%d rows match", rows)

	out := apply(t, env, fx.conf)
	if !saidNothingToDo(out) {
		t.Errorf("second apply did not say \"nothing to do\":\n%s", out)
	}
	second := downloadPrefix(t, client, "lake", "out/", filepath.Join(fx.root, "s3out2"))
	if strings.Join(first, "\n") != strings.Join(second, "\n") {
		t.Errorf("second apply changed the sink:\nbefore:\n%s\nafter:\n%s", strings.Join(first, "\n"), strings.Join(second, "\n"))
	}
}
