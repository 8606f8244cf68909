package spec

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/sluicedata/sluice/spec/predicate"
	"github.com/sluicedata/sluice/spec/schema"
)

func mustLoad(t *testing.T, dir string, opts LoadOptions) *Config {
	t.Helper()
	cfg, diags := Load(dir, opts)
	for _, d := range diags {
		t.Errorf("unexpected diagnostic: %s", d)
	}
	if cfg == nil {
		t.Fatal("nil config")
	}
	return cfg
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestLoadFull(t *testing.T) {
	dir, err := filepath.Abs("testdata/valid/full/conf")
	if err != nil {
		t.Fatal(err)
	}
	cfg, diags := Load(dir, LoadOptions{})
	if len(diags) != 1 || diags[0].Severity != hcl.DiagWarning || diags[0].Summary != "Local state with a remote sink" ||
		diags[0].Subject.Start.Line != 26 {
		t.Fatalf("want only the local-state warning on the state block, got %v", diags)
	}

	if got, want := len(cfg.Files), 2; got != want {
		t.Fatalf("Files = %v", cfg.Files)
	}
	if cfg.State.URL != filepath.Join(filepath.Dir(dir), "state-dir") {
		t.Errorf("State.URL = %q: a relative state url resolves against its file's directory", cfg.State.URL)
	}
	if len(cfg.Pipelines) != 2 || cfg.Pipelines[0].Name != "events" || cfg.Pipelines[1].Name != "orders_curated" {
		t.Fatalf("pipelines not sorted by name: %v", cfg.Pipelines)
	}

	ev := cfg.Pipelines[0]
	if ev.Source.URL != filepath.Join(dir, "data", "events") {
		t.Errorf("events source URL = %q", ev.Source.URL)
	}
	if ev.Source.Format != FormatCSV || ev.Source.Compression != CompressionAuto {
		t.Errorf("events format/compression = %v/%v", ev.Source.Format, ev.Source.Compression)
	}
	if ev.Source.TaskBytes != 10000 {
		t.Errorf("task_bytes \"10KB\" = %d, want 10000 (decimal)", ev.Source.TaskBytes)
	}
	if ev.Source.CSV.Header || ev.Source.CSV.Delimiter != '\t' || ev.Source.CSV.Quote != '"' ||
		len(ev.Source.CSV.NullValues) != 1 || ev.Source.CSV.NullValues[0] != "" {
		t.Errorf("source csv = %+v", ev.Source.CSV)
	}
	if s := ev.Source.Schema; s == nil || len(s.Columns) != 2 || s.Columns[0].Nullable || !s.Columns[1].Nullable ||
		s.Columns[0].Type.Kind != schema.Int64 {
		t.Errorf("inline schema = %+v", ev.Source.Schema)
	}
	if ev.Sink.URL != "/tmp/sluice-out/events" {
		t.Errorf("file:// sink URL = %q, want the path", ev.Sink.URL)
	}
	if ev.Sink.Format != FormatCSV || ev.Sink.Compression != CompressionGzip || ev.Sink.Mode != ModeOverwrite {
		t.Errorf("events sink = %v %v %v", ev.Sink.Format, ev.Sink.Compression, ev.Sink.Mode)
	}
	if ev.Sink.CSV.Delimiter != ';' || !ev.Sink.CSV.Header {
		t.Errorf("sink csv = %+v", ev.Sink.CSV)
	}

	oc := cfg.Pipelines[1]
	src := oc.Source
	if oc.Description != "EU/US orders since 2026 as partitioned Parquet" {
		t.Errorf("description = %q", oc.Description)
	}
	if src.URL != "s3://acme-dev-raw/orders/" {
		t.Errorf("source URL = %q (locals and variables interpolated, s3 URLs kept)", src.URL)
	}
	if src.OnBadRecord != BadRecordFail || src.OnChange != ChangeIgnore || src.OnSchemaChange != SchemaChangeFail {
		t.Errorf("policy defaults = %v %v %v", src.OnBadRecord, src.OnChange, src.OnSchemaChange)
	}
	if src.TaskBytes != DefaultTaskBytes {
		t.Errorf("default task_bytes = %d", src.TaskBytes)
	}
	if src.Bounded == nil || src.Bounded.Files != 500 || src.Bounded.Bytes != 1<<30 {
		t.Errorf("bounded = %+v", src.Bounded)
	}
	if src.Schema == nil || src.Schema != cfg.Schemas["orders"] {
		t.Fatalf("schema_file schema not recorded in Config.Schemas: %v", cfg.Schemas)
	}
	ca, _ := src.Schema.Column("created_at")
	if ca.TimestampFormat != "2006-01-02 15:04:05" || ca.Type.Kind != schema.Timestamp {
		t.Errorf("created_at = %+v", ca)
	}
	if !strings.HasSuffix(src.Schema.DeclRange.Filename, filepath.Join("schemas", "orders.hcl")) {
		t.Errorf("schema range = %v", src.Schema.DeclRange)
	}
	if src.Where == nil || len(src.Where.Conjuncts) != 3 {
		t.Fatalf("where not compiled into 3 conjuncts: %+v", src.Where)
	}
	if !src.Where.Conjuncts[0].PartitionOnly || !src.Where.Conjuncts[1].PartitionOnly || src.Where.Conjuncts[2].PartitionOnly {
		t.Errorf("partition-only flags wrong: %+v", src.Where.Conjuncts)
	}
	if src.WhereText != "dt >= '2026-01-01' && region in ['eu', 'us'] && amount > 0" {
		t.Errorf("WhereText = %q", src.WhereText)
	}
	if got := strings.Join(src.Select, ","); got != "order_id,customer_id,amount,dt,region" {
		t.Errorf("select = %q", got)
	}
	var outs []string
	for _, c := range src.OutputColumns() {
		outs = append(outs, c.Name+":"+c.Type.String())
	}
	if got := strings.Join(outs, ","); got != "order_id:string,customer_id:int64,amount:decimal(12, 2),dt:date,region:string" {
		t.Errorf("OutputColumns = %s", got)
	}

	if len(oc.Checks) != 2 {
		t.Fatalf("checks = %v", oc.Checks)
	}
	if c := oc.Checks[0]; c.Expr == nil || c.MinRows != -1 || c.Severity != SeverityError {
		t.Errorf("check 0 = %+v", c)
	}
	if c := oc.Checks[1]; c.Expr != nil || c.MinRows != 10 || c.Severity != SeverityWarn {
		t.Errorf("check 1 = %+v", c)
	}
	sk := oc.Sink
	if sk.URL != "s3://acme-DEV-curated/orders/" || sk.Format != FormatParquet || sk.Compression != CompressionSnappy {
		t.Errorf("sink = %q %v %v", sk.URL, sk.Format, sk.Compression)
	}
	if sk.Mode != ModeAppend || sk.Committer != CommitterAtomic || sk.TargetFileSize != 256<<20 || sk.RowGroupSize != DefaultRowGroupSize {
		t.Errorf("sink defaults = %v %v %d %d", sk.Mode, sk.Committer, sk.TargetFileSize, sk.RowGroupSize)
	}
	if sk.S3.SSE != "AES256" {
		t.Errorf("default sse = %q", sk.S3.SSE)
	}
	if sk.S3.Declared || sk.S3.Tags != nil {
		t.Errorf("a sink without an s3 block has S3 = %+v; nothing may be sent", sk.S3)
	}

	if v := cfg.Variables["env"]; v.Value.AsString() != "dev" || v.Type != cty.String {
		t.Errorf("env = %#v", v.Value)
	}
	if len(cfg.Digest) != 64 {
		t.Errorf("digest = %q", cfg.Digest)
	}
	if len(cfg.Sources) < 3 {
		t.Errorf("Sources holds %d files, want config files and the schema file", len(cfg.Sources))
	}
}

const precedenceConfig = `
variable "env" {
  type    = string
  default = "default"
}
variable "n" {
  type    = number
  default = 1
}
variable "tags" {
  type    = list(string)
  default = []
}
pipeline "p" {
  source "s" {
    url    = "in/${var.env}/"
    format = "parquet"
    bounded {
      files = var.n
    }
  }
  sink "k" {
    url = "out/${join("-", var.tags)}"
  }
}
`

func TestVariablePrecedence(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"main.hcl":         precedenceConfig,
		"a.vars.hcl":       "env = \"file-a\"\nn = 3\n",
		"b.vars.json":      `{"env": "file-b"}`,
		"ignored.vars.hcl": "this is not loaded unless named = \n",
	})
	cases := []struct {
		name string
		opts LoadOptions
		env  string
		n    int64
		tags string
	}{
		{"defaults", LoadOptions{}, "default", 1, ""},
		{"environment", LoadOptions{Environ: []string{"SLUICE_VAR_env=from-env", "SLUICE_VAR_n=2", "OTHER=x", "SLUICE_VAR_undeclared=1"}}, "from-env", 2, ""},
		{"var file beats environment", LoadOptions{Environ: []string{"SLUICE_VAR_env=from-env", "SLUICE_VAR_n=2"}, VarFiles: []string{filepath.Join(dir, "a.vars.hcl")}}, "file-a", 3, ""},
		{"later var file wins, json", LoadOptions{VarFiles: []string{filepath.Join(dir, "a.vars.hcl"), filepath.Join(dir, "b.vars.json")}}, "file-b", 3, ""},
		{"-var beats all, last wins", LoadOptions{Environ: []string{"SLUICE_VAR_env=e"}, VarFiles: []string{filepath.Join(dir, "a.vars.hcl")}, Vars: []string{"env=one", "env=two", `tags=["x","y"]`, "n=9"}}, "two", 9, "x-y"},
		{"-var value with =", LoadOptions{Vars: []string{"env=a=b"}}, "a=b", 1, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := mustLoad(t, dir, c.opts)
			if got := cfg.Variables["env"].Value.AsString(); got != c.env {
				t.Errorf("env = %q, want %q", got, c.env)
			}
			p := cfg.Pipelines[0]
			if p.Source.Bounded.Files != c.n {
				t.Errorf("n = %d, want %d", p.Source.Bounded.Files, c.n)
			}
			if p.Source.URL != filepath.Join(dir, "in", c.env) {
				t.Errorf("source URL = %q", p.Source.URL)
			}
			if p.Sink.URL != filepath.Join(dir, "out", c.tags) {
				t.Errorf("sink URL = %q", p.Sink.URL)
			}
		})
	}

	// The digest covers resolved values: same files, different -var.
	a := mustLoad(t, dir, LoadOptions{Vars: []string{"env=x"}})
	b := mustLoad(t, dir, LoadOptions{Vars: []string{"env=y"}})
	c := mustLoad(t, dir, LoadOptions{VarFiles: nil, Vars: []string{"env=x"}})
	if a.Digest == b.Digest || a.Digest != c.Digest {
		t.Errorf("digest must follow variable values and be stable: %s %s %s", a.Digest, b.Digest, c.Digest)
	}
}

func TestSensitiveRedaction(t *testing.T) {
	dir := writeFiles(t, map[string]string{"main.hcl": `
variable "bucket" {
  type      = string
  sensitive = true
}
locals {
  url = "s3://${var.bucket}/raw/"
}
pipeline "p" {
  source "s" {
    url         = local.url
    format      = "parquet"
    compression = "${var.bucket}-codec"
  }
  sink "k" {
    url  = "s3://other/${var.bucket}"
    mode = "${var.bucket}"
  }
}
`})
	const secret = "top-secret-bucket"
	cfg, diags := Load(dir, LoadOptions{Vars: []string{"bucket=" + secret}})
	diags = errorsOnly(diags)
	if len(diags) != 2 {
		t.Fatalf("want 2 diagnostics (compression, mode), got %v", diags)
	}
	for _, d := range diags {
		text := d.Summary + " " + d.Detail
		if strings.Contains(text, secret) {
			t.Errorf("diagnostic leaks the secret: %s", text)
		}
		if !strings.Contains(text, "(sensitive)") {
			t.Errorf("diagnostic does not say (sensitive): %s", text)
		}
	}
	if got := cfg.Variables["bucket"].Value.AsString(); got != secret {
		t.Errorf("Variables keeps the real value: got %q", got)
	}
	if got := cfg.Pipelines[0].Source.URL; got != "s3://"+secret+"/raw/" {
		t.Errorf("decoded URL = %q", got)
	}
	if got := cfg.Redact("error reading s3://" + secret + "/raw/x.json"); got != "error reading s3://(sensitive)/raw/x.json" {
		t.Errorf("Redact = %q", got)
	}
	if got := (*Config)(nil).Redact("x"); got != "x" {
		t.Errorf("nil Redact = %q", got)
	}
}

func TestParseSize(t *testing.T) {
	good := map[string]int64{
		"4096": 4096, "0": 0, "128MiB": 128 << 20, "1GiB": 1 << 30, "10KB": 10000, "1KiB": 1024,
		"2TiB": 2 << 40, "3MB": 3e6, "5GB": 5e9, "1TB": 1e12, "1.5GiB": 3 << 29, "64 MiB": 64 << 20, "12B": 12,
		" 7KiB ": 7 << 10,
	}
	for in, want := range good {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MiB", "12 mb", "1.5", "-1", "1e3", "9999999999TiB", "99999999999999999999", "12XB", "1..2GiB", "0x10"} {
		if n, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", in, n)
		}
	}
	for _, n := range []int64{0, 1, 1023, 1024, 128 << 20, 3 << 40, 1000} {
		if got, err := ParseSize(FormatSize(n)); err != nil || got != n {
			t.Errorf("ParseSize(FormatSize(%d)) = %d, %v", n, got, err)
		}
	}
}

func TestRelativePaths(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"conf/main.hcl": `
locals {
  query = file("queries/q.txt")
}
pipeline "p" {
  source "s" {
    url    = "../data"
    format = "json"
    schema = schema_file("../schemas/multi.hcl", "b")
    where  = local.query
  }
  sink "k" {
    url = "file:///abs/out/"
  }
}
`,
		"conf/queries/q.txt": "y > 1",
		"schemas/multi.hcl": `
schema "a" {
  column "x" {
    type = "int64"
  }
}
schema "b" {
  column "y" {
    type = "int32"
  }
}
`,
	})
	cfg := mustLoad(t, filepath.Join(dir, "conf"), LoadOptions{})
	src := cfg.Pipelines[0].Source
	if src.URL != filepath.Join(dir, "data") {
		t.Errorf("URL = %q", src.URL)
	}
	if src.Schema == nil || src.Schema.Name != "b" || len(cfg.Schemas) != 2 {
		t.Errorf("schema = %+v, schemas = %v", src.Schema, cfg.Schemas)
	}
	if src.Where == nil || src.WhereText != "y > 1" {
		t.Errorf("where from file() = %q", src.WhereText)
	}
	if cfg.Pipelines[0].Sink.URL != "/abs/out" {
		t.Errorf("sink = %q", cfg.Pipelines[0].Sink.URL)
	}
	if cfg.State.URL != filepath.Join(dir, "conf", ".sluice", "state") {
		t.Errorf("default state URL = %q", cfg.State.URL)
	}
	// Editing a file read by file() changes the digest.
	before := cfg.Digest
	if err := os.WriteFile(filepath.Join(dir, "conf/queries/q.txt"), []byte("y > 2"), 0o644); err != nil {
		t.Fatal(err)
	}
	if after := mustLoad(t, filepath.Join(dir, "conf"), LoadOptions{}).Digest; after == before {
		t.Error("digest ignores files read by file()")
	}
}

func TestParquetWithoutSchema(t *testing.T) {
	dir := writeFiles(t, map[string]string{"main.hcl": `
pipeline "p" {
  source "s" {
    url    = "in/"
    format = "parquet"
    where  = "anything_at_all > 3 && b == 'x'"
    select = ["a", "b"]
  }
  check "c" {
    expr = "whatever != nil"
  }
  sink "k" {
    url = "out/"
  }
}
`})
	cfg := mustLoad(t, dir, LoadOptions{})
	src := cfg.Pipelines[0].Source
	if src.Where != nil || src.WhereText == "" || src.Schema != nil {
		t.Errorf("parquet without schema: Where must wait for plan, text kept: %+v", src)
	}
	if c := cfg.Pipelines[0].Checks[0]; c.Expr != nil || c.ExprText != "whatever != nil" {
		t.Errorf("check = %+v", c)
	}
}

// TestWhereSubject checks the span → range map on strings with escapes and
// multi-byte characters, start and end, and that later stages (plan) can
// map their own spans.
func TestWhereSubject(t *testing.T) {
	src := "pipeline \"p\" {\n  source \"s\" {\n    url    = \"in/\"\n    format = \"parquet\"\n" +
		"    where  = \"a == \\\"é\\\\\\\" && ü == 'x\\u00e9' && $${x}\"\n" +
		"  }\n  sink \"k\" {\n    url = \"out/\"\n  }\n}\n"
	dir := writeFiles(t, map[string]string{"main.hcl": src})
	cfg, _ := Load(dir, LoadOptions{})
	s := cfg.Pipelines[0].Source
	want := `a == "é\" && ü == 'xé' && ${x}`
	if s.WhereText != want {
		t.Fatalf("WhereText = %q, want %q", s.WhereText, want)
	}
	line := 5
	// Source line: `    where  = "a == \"é\\\" && ü == 'x\u00e9' && $${x}"`
	//               1234567890123456789012345678901234567890123456789012
	cases := []struct {
		text           string
		startCol, endC int
	}{
		{`a`, 15, 16},
		{`"é\"`, 20, 27}, // \" é \\ \" : 2+1+2+2 = 7 columns
		{`ü`, 31, 32},    // ü is one column (two bytes)
		{`'xé'`, 36, 45}, // \u00e9 is six source bytes
		{`${x}`, 49, 54}, // $${ is the escape for ${
	}
	for _, c := range cases {
		i := strings.Index(want, c.text)
		rng := s.WhereSubject(predicate.Span{Start: i, End: i + len(c.text)})
		if rng.Start.Line != line || rng.Start.Column != c.startCol || rng.End.Column != c.endC {
			t.Errorf("%q: got %d:%d-%d, want %d:%d-%d", c.text, rng.Start.Line, rng.Start.Column, rng.End.Column, line, c.startCol, c.endC)
		}
		if got := string(cfg.Sources[rng.Filename][rng.Start.Byte:rng.End.Byte]); c.text == "ü" && got != "ü" {
			t.Errorf("bytes of range = %q", got)
		}
	}
	// Out-of-range spans clamp instead of panicking.
	_ = s.WhereSubject(predicate.Span{Start: -5, End: 1000})
	var nilSrc Source
	if r := nilSrc.WhereSubject(predicate.Span{}); r != (hcl.Range{}) {
		t.Errorf("zero Source range = %v", r)
	}
}

func TestEnumStrings(t *testing.T) {
	if FormatParquet.String() != "parquet" || CompressionBzip2.String() != "bzip2" || ModeOverwritePartitions.String() != "overwrite_partitions" ||
		SchemaChangeAddColumns.String() != "add_columns" || BadRecordQuarantine.String() != "quarantine" || ChangeReprocess.String() != "reprocess" ||
		CommitterDirect.String() != "direct" || SeverityWarn.String() != "warn" {
		t.Error("enum String() does not match the configuration spelling")
	}
	if Format(0).String() != "Format(0)" {
		t.Errorf("invalid enum = %q", Format(0).String())
	}
}

func TestNoConfigFiles(t *testing.T) {
	dir := writeFiles(t, map[string]string{"x.test.hcl": "x = 1", "y.vars.hcl": "y = 1"})
	_, diags := Load(dir, LoadOptions{})
	if !diags.HasErrors() || diags[0].Summary != "No configuration files" {
		t.Errorf("diags = %v", diags)
	}
	_, diags = Load(filepath.Join(dir, "missing"), LoadOptions{})
	if !diags.HasErrors() {
		t.Error("missing directory: no error")
	}
}

func TestMovedAndS3(t *testing.T) {
	dir := writeFiles(t, map[string]string{"main.hcl": `
state {
  url = "s3://state/"
}
pipeline "new_name" {
  source "orders" {
    url    = "s3://in/x/"
    format = "parquet"
  }
  check "rows" {
    expr = "a > 1 && b == 'x'"
  }
  sink "k" {
    url         = "s3://out/x/"
    compression = "zstd"
    committer   = "direct"
    s3 {
      sse           = "aws:kms"
      kms_key_id    = "arn:aws:kms:eu-west-1:1:key/k"
      storage_class = "STANDARD_IA"
      acl           = "bucket-owner-full-control"
      tags = {
        team          = "data"
        "cost-center" = "42 / eu"
      }
    }
  }
}
pipeline "other" {
  source "s" {
    url    = "s3://in/y/"
    format = "parquet"
  }
  sink "k" {
    url = "s3://out/xy/"
  }
}
moved {
  from = "pipeline.old_name"
  to   = "pipeline.new_name"
}
moved {
  from = pipeline.new_name.source.raw
  to   = pipeline.new_name.source.orders
}
`})
	cfg := mustLoad(t, dir, LoadOptions{})
	if len(cfg.Moved) != 2 || cfg.Moved[0].From != "pipeline.old_name" || cfg.Moved[0].To != "pipeline.new_name" ||
		cfg.Moved[1].From != "pipeline.new_name.source.raw" || cfg.Moved[1].To != "pipeline.new_name.source.orders" {
		t.Errorf("moved = %+v %+v", cfg.Moved[0], cfg.Moved[1])
	}
	sk := cfg.Pipelines[0].Sink
	want := S3Options{SSE: "aws:kms", KMSKeyID: "arn:aws:kms:eu-west-1:1:key/k", StorageClass: "STANDARD_IA", ACL: "bucket-owner-full-control",
		Tags: map[string]string{"team": "data", "cost-center": "42 / eu"}, Declared: true}
	if !reflect.DeepEqual(sk.S3, want) || sk.Compression != CompressionZstd || sk.Committer != CommitterDirect {
		t.Errorf("sink = %+v", sk)
	}
	// s3://out/x/ and s3://out/xy/ share a string prefix but not a path segment.
	c := cfg.Pipelines[0].Checks[0]
	if c.ExprText != "a > 1 && b == 'x'" || c.Expr != nil {
		t.Errorf("check = %+v", c)
	}
	r := c.ExprSubject(predicate.Span{Start: 9, End: 10})
	if r.Start.Line != 11 || r.Start.Column != 22 || r.End.Column != 23 {
		t.Errorf("ExprSubject(b) = %v", r)
	}
}

// TestExamplePipelines keeps the repository's example configuration
// (pipelines/, schemas/) valid under the decoder.
func TestExamplePipelines(t *testing.T) {
	if _, err := os.Stat("../pipelines"); err != nil {
		t.Skip("no pipelines/ directory")
	}
	cfg := mustLoad(t, "../pipelines", LoadOptions{})
	if len(cfg.Pipelines) == 0 {
		t.Error("no pipelines decoded")
	}
	for _, p := range cfg.Pipelines {
		if p.Source.Schema != nil && p.Source.WhereText != "" && p.Source.Where == nil {
			t.Errorf("%s: where not compiled", p.Name)
		}
	}
}

func errorsOnly(diags hcl.Diagnostics) hcl.Diagnostics {
	var out hcl.Diagnostics
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			out = append(out, d)
		}
	}
	return out
}

// A relative path that starts with a variable given on the command line,
// in a -var-file or the environment is the user's, typed where the
// command runs: it resolves against the working directory. One written in
// the configuration (a default, a literal prefix) resolves against the
// file that writes it.
func TestGivenRelativePathsResolveAgainstWorkDir(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"conf/main.hcl": `
variable "lake" {
  type    = string
  default = "../lake"
}
locals {
  raw = "${var.lake}/raw"
}
state { url = "${var.lake}/state" }
pipeline "p" {
  source "s" {
    url    = "${local.raw}/orders/"
    format = "parquet"
  }
  sink "k" {
    url = "out/${var.lake}"
  }
}
`,
		"conf/dev.vars.hcl": `lake = "vf-lake"`,
	})
	work := t.TempDir()
	conf := filepath.Join(dir, "conf")
	for _, c := range []struct {
		name string
		opts LoadOptions
		base string // what the source and state resolve against
		lake string
	}{
		{"default", LoadOptions{WorkDir: work}, conf, "../lake"},
		{"-var", LoadOptions{WorkDir: work, Vars: []string{"lake=demo-lake"}}, work, "demo-lake"},
		{"-var-file", LoadOptions{WorkDir: work, VarFiles: []string{filepath.Join(conf, "dev.vars.hcl")}}, work, "vf-lake"},
		{"environment", LoadOptions{WorkDir: work, Environ: []string{"SLUICE_VAR_lake=env-lake"}}, work, "env-lake"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := mustLoad(t, conf, c.opts)
			p := cfg.Pipelines[0]
			if want := filepath.Join(c.base, c.lake, "raw", "orders"); p.Source.URL != want {
				t.Errorf("source %q, want %q", p.Source.URL, want)
			}
			if want := filepath.Join(c.base, c.lake, "state"); cfg.State.URL != want {
				t.Errorf("state %q, want %q", cfg.State.URL, want)
			}
			// A path the configuration starts stays relative to its file.
			if want := filepath.Join(conf, "out", c.lake); p.Sink.URL != want {
				t.Errorf("sink %q, want %q", p.Sink.URL, want)
			}
		})
	}
}

// The state may not overlap a source or a sink, except below a hidden
// segment of one (never listed as input, never deleted by overwrite); a
// sink inside another pipeline's source is how pipelines chain.
func TestStateLocation(t *testing.T) {
	pipe := func(name, src, sink, mode string) string {
		return `pipeline "` + name + `" {
  source "s" {
    url    = "` + src + `"
    format = "json"
    column "id" { type = "int64" }
  }
  sink "k" {
    url  = "` + sink + `"
    mode = "` + mode + `"
  }
}
`
	}
	cases := []struct {
		name, hcl string
		want      []string // summaries
	}{
		{"default state under the overwritten config dir", pipe("p", "in/", ".", "overwrite"), []string{"Overwrite would delete the source"}},
		{"default state in a source reading the config dir", pipe("p", ".", "../out/", "append"), nil},
		{"hidden state below a sink", `state { url = "out/_state" }` + "\n" + pipe("p", "in/", "out/", "overwrite"), nil},
		{"chained pipelines", pipe("a", "raw/", "curated/", "overwrite") + pipe("b", "curated/", "marts/", "append"), nil},
		{"default state is the sink", pipe("p", "in/", ".sluice/state", "append"), []string{"State inside a sink"}},
		{"sink inside the state", `state { url = "st/" }` + "\n" + pipe("p", "in/", "st/p/out", "append"), []string{"State contains a sink"}},
		{"source inside the state", `state { url = "st/" }` + "\n" + pipe("p", "st/in", "out/", "append"), []string{"State contains a source"}},
		{"state in another pipeline's sink", `state { url = "b-out/state" }` + "\n" + pipe("a", "a-in/", "a-out/", "append") + pipe("b", "b-in/", "b-out/", "append"), []string{"State inside a sink"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"main.hcl": c.hcl})
			_, diags := Load(dir, LoadOptions{})
			var got []string
			for _, d := range diags {
				if d.Severity == hcl.DiagError {
					got = append(got, d.Summary)
				}
			}
			if strings.Join(got, "|") != strings.Join(c.want, "|") {
				t.Errorf("errors = %q, want %q", got, c.want)
			}
		})
	}
}

// A long list attribute decodes in linear time: 100,000 null_values took
// 85 s (converting the whole tuple to list(string) unified its element
// types pairwise); it now takes about a second.
func TestLongStringListIsLinear(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a 1 MB configuration")
	}
	var b strings.Builder
	for i := range 100000 {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(`"n` + strconv.Itoa(i) + `"`)
	}
	dir := writeFiles(t, map[string]string{"main.hcl": `pipeline "p" {
  source "s" {
    url    = "in/"
    format = "csv"
    column "id" { type = "int64" }
    csv { null_values = [` + b.String() + `] }
  }
  sink "k" { url = "out/" }
}
`})
	start := time.Now()
	cfg := mustLoad(t, dir, LoadOptions{})
	if el := time.Since(start); el > 20*time.Second {
		t.Errorf("loading took %v", el)
	}
	if nv := cfg.Pipelines[0].Source.CSV.NullValues; len(nv) != 100000 || nv[99999] != "n99999" {
		t.Errorf("null_values: %d, last %q", len(nv), nv[len(nv)-1])
	}
}

// Lists keep accepting what converts to strings, and refusing the rest.
func TestStringListConversions(t *testing.T) {
	for _, c := range []struct {
		expr string
		want []string
		err  bool
	}{
		{`["a", 1, true]`, []string{"a", "1", "true"}, false},
		{`toset(["b", "a"])`, []string{"a", "b"}, false},
		{`[]`, []string{}, false},
		{`"a"`, nil, true},
		{`{a = "b"}`, nil, true},
		{`[["a"]]`, nil, true},
		{`["a", null]`, nil, true},
	} {
		dir := writeFiles(t, map[string]string{"main.hcl": `pipeline "p" {
  source "s" {
    url    = "in/"
    format = "csv"
    column "id" { type = "int64" }
    csv { null_values = ` + c.expr + ` }
  }
  sink "k" { url = "out/" }
}
`})
		cfg, diags := Load(dir, LoadOptions{})
		if diags.HasErrors() != c.err {
			t.Errorf("%s: diagnostics %v", c.expr, diags)
			continue
		}
		if !c.err && strings.Join(cfg.Pipelines[0].Source.CSV.NullValues, "|") != strings.Join(c.want, "|") {
			t.Errorf("%s: %q, want %q", c.expr, cfg.Pipelines[0].Source.CSV.NullValues, c.want)
		}
	}
}
