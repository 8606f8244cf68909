package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicedata/sluice/internal/s3test"
)

// TestSchemaInferS3 runs schema infer on an s3:// prefix of a real S3
// server (a gzipped object among them), then a pipeline with the schema
// file it wrote reads the same prefix: the file validates and round-trips.
func TestSchemaInferS3(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "raw")
	srv.SetEnv(t)
	c := srv.Client()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(`{"id":3,"amount":7,"tags":["c"],"at":"2026-02-01"}` + "\n"))
	zw.Close()
	for key, body := range map[string][]byte{
		"events/a.json":    []byte(`{"id":1,"amount":2,"tags":["a"],"at":"2026-01-01"}` + "\n" + `{"id":2,"amount":2.5,"at":"2026-01-02","extra":{"k":true}}` + "\n"),
		"events/b.json.gz": gz.Bytes(),
	} {
		if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("raw"), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	schemaFile := filepath.Join(dir, "schemas", "events.hcl")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"schema", "infer", "s3://raw/events/", "-o", schemaFile}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("schema infer: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	got, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`schema "events" {`, `column "amount" {` + "\n    type        = \"float64\"\n    description = \"never null in the sample", `type = "list(string)"`, `type        = "date"`, `type = "struct(k bool)"`, "2 objects, 3 records"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("schema file lacks %q:\n%s", want, got)
		}
	}
	conf := `pipeline "events" {
  source "raw" {
    url    = "s3://raw/events/"
    format = "json"
    schema = schema_file("schemas/events.hcl")
    where  = "extra.k == true || amount > 5"
  }
  sink "out" {
    url    = "out/"
    format = "csv"
  }
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"apply", "-auto-approve", dir}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	outs, _ := filepath.Glob(filepath.Join(dir, "out", "*.csv"))
	if len(outs) != 1 {
		t.Fatalf("outputs %v", outs)
	}
	data, _ := os.ReadFile(outs[0])
	if want := "id,amount,tags,at,extra\n2,2.5,,2026-01-02,\"{\"\"k\"\":true}\"\n3,7,\"[\"\"c\"\"]\",2026-02-01,\n"; string(data) != want {
		t.Errorf("output\n%s\nwant\n%s", data, want)
	}
}
