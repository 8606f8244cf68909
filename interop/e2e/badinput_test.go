package e2e

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/sluicedata/sluice/interop/duck"
	"github.com/sluicedata/sluice/interop/sluicecfg"
)

// badLines are the kinds of malformed record the generator mixes in; each
// is a line of NDJSON that the declared schema (id string, n int64) rejects.
var badLines = []func(i int) string{
	func(i int) string { return fmt.Sprintf(`{"id":"bad-%d","n":`, i) },                 // truncated
	func(i int) string { return fmt.Sprintf(`{"id":"bad-%d","n":%d,}`, i, i) },          // trailing comma
	func(i int) string { return fmt.Sprintf(`{"id":"bad-%d","n":"%d"}`, i, i) },         // wrong type
	func(i int) string { return fmt.Sprintf(`{"id":"bad-%d","n":{"v":%d}}`, i, i) },     // nesting where a scalar is expected
	func(i int) string { return fmt.Sprintf("{\"id\":\"bad-\xff%d\",\"n\":%d}", i, i) }, // invalid UTF-8
	func(i int) string { return fmt.Sprintf(`["bad-%d",%d]`, i, i) },                    // not an object
}

// TestQuarantineOnS3: a run over JSON with 1% bad lines under
// on_bad_record = "quarantine", with source, sink and state on a real S3
// server, commits every good row (DuckDB counts them, and sums n) and
// exactly the bad lines, byte for byte, in _sluice/bad/<run id>/*.jsonl.
func TestQuarantineOnS3(t *testing.T) {
	sluiceBin(t)
	root := t.TempDir()
	raw := filepath.Join(root, "raw")
	rng := rand.New(rand.NewPCG(7, 7))
	const files, perFile = 8, 500
	var goodRows, goodSum int64
	type badRec struct{ key, raw string }
	var bad []badRec
	for f := 0; f < files; f++ {
		rel := fmt.Sprintf("dt=2026-01-%02d/part-%d.json", 1+f%4, f)
		var sb strings.Builder
		pos := 0
		for i := 0; i < perFile; i++ {
			n := f*perFile + i
			// Exactly 1%: one line at a random place in each block of 100.
			if i%100 == 0 {
				pos = rng.IntN(100)
			}
			if i%100 == pos {
				line := badLines[len(bad)%len(badLines)](n)
				bad = append(bad, badRec{key: "events/" + rel, raw: line})
				sb.WriteString(line + "\n")
				continue
			}
			fmt.Fprintf(&sb, `{"id":"r-%d","n":%d}`+"\n", n, n)
			goodRows++
			goodSum += int64(n)
		}
		p := filepath.Join(raw, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if len(bad) != files*perFile/100 {
		t.Fatalf("generated %d bad lines of %d, want 1%%", len(bad), files*perFile)
	}
	schemaFile := filepath.Join(root, "events.hcl")
	if err := os.WriteFile(schemaFile, []byte(`schema "events" {
  column "id" { type = "string" }
  column "n" { type = "int64" }
}
`), 0o644); err != nil {
		t.Fatal(err)
	}

	srv := startS3(t, "raw", "lake")
	client := srv.Client()
	if n := uploadDir(t, client, raw, "raw", "events"); n != files {
		t.Fatalf("uploaded %d files, want %d", n, files)
	}
	cfg := sluicecfg.Pipeline{
		StateURL: "s3://lake/state/", SourceURL: "s3://raw/events/", Format: "json",
		SchemaFile: schemaFile, Partitions: []string{"dt"}, SinkURL: "s3://lake/out/", PartitionBy: []string{"dt"},
	}
	text, err := cfg.Render()
	if err != nil {
		t.Fatal(err)
	}
	// sluicecfg has no on_bad_record knob: add it to the source block.
	text = strings.Replace(text, `format = "json"`, `format = "json"`+"\n    on_bad_record = \"quarantine\"", 1)
	conf := filepath.Join(root, "conf")
	if err := os.MkdirAll(conf, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(conf, "main.hcl"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out := apply(t, srv.Env(), conf)
	t.Logf("apply:\n%s", out)

	local := filepath.Join(root, "s3out")
	keys := downloadPrefix(t, client, "lake", "out/", local)
	checkOutputFiles(t, local)
	db := openDuck(t)
	var rows, sum int64
	q := fmt.Sprintf("SELECT count(*), sum(n) FROM %s", duck.ReadParquet(filepath.Join(local, "**", "*.parquet")))
	if err := db.QueryRow(q).Scan(&rows, &sum); err != nil {
		t.Fatal(err)
	}
	if rows != goodRows || sum != goodSum {
		t.Fatalf("DuckDB reads %d rows (sum %d), want the %d good lines (sum %d)", rows, sum, goodRows, goodSum)
	}

	// The quarantine: exactly the bad lines, each once, with key and line.
	var got []string
	nq := 0
	for _, k := range keys {
		key := strings.Fields(k)[0]
		if !strings.HasPrefix(key, "out/_sluice/bad/") {
			continue
		}
		if !strings.HasSuffix(key, ".jsonl") {
			t.Errorf("quarantine object %s is not .jsonl", key)
		}
		nq++
		f, err := os.Open(filepath.Join(local, strings.TrimPrefix(key, "out/")))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var rec struct {
				Key, Raw, Reason string
				Line             int64
				RawBase64        string `json:"raw_base64"`
			}
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				t.Fatalf("%s: %v: %s", key, err, sc.Text())
			}
			if rec.Line <= 0 || rec.Reason == "" {
				t.Errorf("%s: record without line or reason: %s", key, sc.Text())
			}
			rawText := rec.Raw
			if rec.RawBase64 != "" {
				b, err := base64.StdEncoding.DecodeString(rec.RawBase64)
				if err != nil {
					t.Fatal(err)
				}
				rawText = string(b)
			}
			got = append(got, rec.Key+" "+rawText)
		}
		f.Close()
	}
	if nq == 0 {
		t.Fatalf("no quarantine object under out/_sluice/bad/; objects:\n%s", strings.Join(keys, "\n"))
	}
	var want []string
	for _, b := range bad {
		want = append(want, b.key+" "+b.raw)
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("quarantined %d records, generated %d bad lines\n--- got\n%s\n--- want\n%s", len(got), len(want), strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	t.Logf("%d good rows committed, %d bad lines quarantined in %d objects", rows, len(got), nq)
}
