package lineage

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicedata/sluice/cmd/sluice/internal/lineage/lineagetest"
	"github.com/sluicedata/sluice/spec/schema"
)

// Every event type, sent over HTTP and written to a file, follows the
// published schemas; the run id is the same UUID across a run's events.
func TestEventsFollowTheSchema(t *testing.T) {
	v := lineagetest.NewValidator(t, "testdata/openlineage")
	var mu sync.Mutex
	var posted [][]byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/lineage" || r.Header.Get("Authorization") != "Bearer k" {
			http.Error(w, "wrong endpoint or key", http.StatusBadRequest)
			return
		}
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		posted = append(posted, b)
		mu.Unlock()
	}))
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "lineage.ndjson")
	env := map[string]string{"OPENLINEAGE_URL": srv.URL, "OPENLINEAGE_API_KEY": "k"}
	e := FromEnv(func(k string) string { return env[k] }, file)
	cols := []schema.Column{{Name: "id", Type: schema.Type{Kind: schema.String}}, {Name: "n", Type: schema.Type{Kind: schema.Int64}}}
	r := Run{Pipeline: "orders", RunID: "20260101T000000Z-abcdef",
		Source: Dataset{URL: "s3://lake/raw/orders/", Columns: cols}, Sink: Dataset{URL: "/tmp/out", Columns: cols}}
	done := r
	done.Source.Rows, done.Source.Bytes, done.Source.Files, done.Source.Stats = 10, 100, 2, true
	done.Sink.Rows, done.Sink.Bytes, done.Sink.Files, done.Sink.Stats = 9, 90, 1, true
	failed := r
	failed.Error = "a blocking check failed"
	ctx := context.Background()
	for _, c := range []struct {
		typ string
		run Run
	}{{Start, r}, {Complete, done}, {Fail, failed}, {Abort, r}} {
		if err := e.Emit(ctx, c.typ, c.run, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	lines, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	written := strings.Split(strings.TrimSpace(string(lines)), "\n")
	if len(posted) != 4 || len(written) != 4 {
		t.Fatalf("%d posted, %d written", len(posted), len(written))
	}
	ids := map[string]bool{}
	for i, b := range posted {
		v.Validate(t, b)
		if string(b) != written[i] {
			t.Errorf("event %d differs between HTTP and file", i)
		}
		var ev struct {
			EventType string `json:"eventType"`
			Run       struct {
				RunID string `json:"runId"`
			} `json:"run"`
		}
		json.Unmarshal(b, &ev)
		ids[ev.Run.RunID] = true
	}
	if len(ids) != 1 {
		t.Errorf("run ids %v: want one per run", ids)
	}
	if !strings.Contains(string(posted[1]), `"outputStatistics"`) || !strings.Contains(string(posted[2]), `"errorMessage"`) {
		t.Errorf("COMPLETE lacks statistics or FAIL its error:\n%s\n%s", posted[1], posted[2])
	}
	if !strings.Contains(string(posted[0]), `"name":"raw/orders/","namespace":"s3://lake"`) {
		t.Errorf("S3 dataset naming: %s", posted[0])
	}
}

// The validator is not a rubber stamp: an event without its producer, or
// a facet with a wrong type, fails.
func TestValidatorRejects(t *testing.T) {
	v := lineagetest.NewValidator(t, "testdata/openlineage")
	for _, bad := range []string{
		`{"eventType":"START","eventTime":"2026-01-01T00:00:00Z","schemaURL":"` + coreSchema + `","run":{"runId":"c4cec7b7-123d-51eb-9afa-83adc07a3fdd"},"job":{"namespace":"n","name":"j"}}`,
		`{"eventType":"COMPLETE","eventTime":"2026-01-01T00:00:00Z","producer":"p","schemaURL":"` + coreSchema + `","run":{"runId":"c4cec7b7-123d-51eb-9afa-83adc07a3fdd"},"job":{"namespace":"n","name":"j"},
		  "outputs":[{"namespace":"n","name":"d","outputFacets":{"outputStatistics":{"_producer":"p","_schemaURL":"` + outputStatsFacet + `","rowCount":"many"}}}]}`,
	} {
		if len(v.Problems(t, []byte(bad))) == 0 {
			t.Errorf("accepted: %s", bad)
		}
	}
}
