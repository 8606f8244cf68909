package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicedata/sluice/interop/duck"
	"github.com/sluicedata/sluice/interop/runner"
	"github.com/sluicedata/sluice/interop/sluicecfg"
)

// quarantined reads the quarantine records under a local sink.
func quarantined(t *testing.T, sink string) []map[string]any {
	t.Helper()
	var out []map[string]any
	files, _ := filepath.Glob(filepath.Join(sink, "_sluice", "bad", "*", "*.jsonl"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			var rec map[string]any
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			out = append(out, rec)
		}
	}
	return out
}

// hostileRun writes a one-pipeline configuration over raw (quarantining bad
// input) and runs `sluice apply` on it with -memory-limit limit, measuring
// the process's peak RSS.
func hostileRun(t *testing.T, root, raw, format, schema, limit string) (runner.Result, string) {
	t.Helper()
	schemaFile := filepath.Join(root, "schema.hcl")
	if err := os.WriteFile(schemaFile, []byte(schema), 0o644); err != nil {
		t.Fatal(err)
	}
	sink := filepath.Join(root, "out")
	text, err := sluicecfg.Pipeline{
		StateURL: filepath.Join(root, "state"), SourceURL: raw, Format: format,
		SchemaFile: schemaFile, SinkURL: sink,
	}.Render()
	if err != nil {
		t.Fatal(err)
	}
	text = strings.Replace(text, `format = "`+format+`"`, `format = "`+format+`"`+"\n    on_bad_record = \"quarantine\"", 1)
	conf := filepath.Join(root, "conf")
	if err := os.MkdirAll(conf, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(conf, "main.hcl"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	res, err := runner.Run(ctx, sluiceBin(t), []string{"apply", "-auto-approve", "-memory-limit", limit, conf}, os.Environ(), root)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 {
		t.Fatalf("sluice apply: exit %d (peak RSS %d MiB)\n%s%s", res.ExitCode, res.MaxRSS>>20, res.Stdout, res.Stderr)
	}
	return res, sink
}

// TestDecompressionBombThroughCLI (issue 13, item 2): 1 GiB of zeros in one
// JSON line, gzipped into 1 MB, used to take 24 GB of RSS and an OOM kill
// (21.6 GB with -memory-limit 128MiB, and a 6.4 GB quarantine object). The
// line is now a bad record read past in bounded memory: the run commits the
// good line after it and quarantines the long one with a truncated raw.
func TestDecompressionBombThroughCLI(t *testing.T) {
	sluiceBin(t)
	root := t.TempDir()
	raw := filepath.Join(root, "raw")
	if err := os.MkdirAll(raw, 0o755); err != nil {
		t.Fatal(err)
	}
	// 1024 gzip members of 1 MiB of zeros each, then a good line: a
	// multi-member stream is one object's bytes, made in a moment.
	var member, bomb bytes.Buffer
	zw := gzip.NewWriter(&member)
	zw.Write(make([]byte, 1<<20))
	zw.Close()
	for range 1024 {
		bomb.Write(member.Bytes())
	}
	zw = gzip.NewWriter(&bomb)
	zw.Write([]byte("\n{\"id\":\"after\",\"n\":7}\n"))
	zw.Close()
	if err := os.WriteFile(filepath.Join(raw, "bomb.json.gz"), bomb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	res, sink := hostileRun(t, root, raw, "json", `schema "events" {
  column "id" { type = "string" }
  column "n" { type = "int64" }
}
`, "128MiB")
	t.Logf("%d KiB of gzip holding a 1 GiB line: exit 0 in %s, peak RSS %d MiB", bomb.Len()>>10, res.Wall.Round(time.Millisecond), res.MaxRSS>>20)
	db := openDuck(t)
	var rows int64
	if err := db.QueryRow("SELECT count(*) FROM " + duck.ReadParquet(filepath.Join(sink, "*.parquet"))).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 1 {
		t.Fatalf("committed %d rows, want the 1 good line", rows)
	}
	recs := quarantined(t, sink)
	if len(recs) != 1 {
		t.Fatalf("quarantined %d records, want 1: %v", len(recs), recs)
	}
	reason, _ := recs[0]["reason"].(string)
	rawText, _ := recs[0]["raw"].(string)
	if recs[0]["line"] != float64(1) || !strings.Contains(reason, "record of 1073741824 bytes is longer than the limit") || len(rawText) > 1024 {
		t.Fatalf("quarantine record: line %v, reason %q, %d bytes of raw", recs[0]["line"], reason, len(rawText))
	}
	// 128 MiB of budget, the read buffers and the runtime: nowhere near the
	// gigabyte the line decompresses to.
	if res.MaxRSS > 400<<20 {
		t.Fatalf("peak RSS %d MiB", res.MaxRSS>>20)
	}
}

// TestLyingParquetThroughCLI (issue 13, item 1): Parquet files whose
// footer or page headers lie about a size (a column chunk of 1 TiB or 64
// GiB, a row group of -1 rows, a dictionary of 2^31-1 values) ended the run
// with "fatal error: runtime: out of memory" and a wedged pipeline, or read
// as fewer rows without a word. Each is now an unreadable object under
// on_bad_record: quarantined, the honest file committed, and a second run
// has nothing to do.
func TestLyingParquetThroughCLI(t *testing.T) {
	sluiceBin(t)
	root := t.TempDir()
	raw := filepath.Join(root, "raw")
	if err := os.MkdirAll(raw, 0o755); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join("testdata", "hostile", "*.parquet"))
	if err != nil || len(files) < 2 {
		t.Fatalf("fixtures: %v %v", files, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(raw, filepath.Base(f)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, sink := hostileRun(t, root, raw, "parquet", `schema "events" {
  column "a" { type = "int64" }
  column "s" { type = "string" }
}
`, "256MiB")
	t.Logf("%d files, %d lying: exit 0 in %s, peak RSS %d MiB", len(files), len(files)-1, res.Wall.Round(time.Millisecond), res.MaxRSS>>20)
	db := openDuck(t)
	var rows int64
	if err := db.QueryRow("SELECT count(*) FROM " + duck.ReadParquet(filepath.Join(sink, "*.parquet"))).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 400 {
		t.Fatalf("committed %d rows, want the honest file's 400", rows)
	}
	recs := quarantined(t, sink)
	var keys []string
	for _, r := range recs {
		reason, _ := r["reason"].(string)
		if !strings.Contains(reason, "parquet: corrupt file") {
			t.Errorf("quarantined %v for %q", r["key"], reason)
		}
		keys = append(keys, fmt.Sprint(r["key"]))
	}
	if len(recs) != len(files)-1 {
		t.Fatalf("quarantined %v, want every lying file", keys)
	}
	if res.MaxRSS > 400<<20 {
		t.Fatalf("peak RSS %d MiB", res.MaxRSS>>20)
	}
	out, code := runSluice(t, nil, "plan", "-detailed-exitcode", filepath.Join(root, "conf"))
	if code != 0 {
		t.Fatalf("a second plan has work to do (exit %d): the lying files were not marked processed\n%s", code, out)
	}
}
