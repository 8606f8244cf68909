package lineage

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/sluicedata/sluice/spec/schema"
)

// Spec versions of the schemas the events follow (testdata/openlineage).
const (
	coreSchema        = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
	schemaFacet       = "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"
	outputStatsFacet  = "https://openlineage.io/spec/facets/1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet"
	inputStatsFacet   = "https://openlineage.io/spec/facets/1-0-0/InputStatisticsInputDatasetFacet.json#/$defs/InputStatisticsInputDatasetFacet"
	errorMessageFacet = "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet"
	jobTypeFacet      = "https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet"
)

// Producer names sluice as the producer of the events.
const Producer = "https://github.com/sluicedata/sluice"

// Event types of a run.
const (
	Start    = "START"
	Complete = "COMPLETE"
	Fail     = "FAIL"
	Abort    = "ABORT"
)

// Dataset is a source or a sink as a run reads or writes it.
type Dataset struct {
	URL     string          // s3://bucket/prefix or a local path
	Columns []schema.Column // nil when unknown
	// Statistics, set on COMPLETE.
	Rows, Bytes, Files int64
	Stats              bool
}

// Run is what an event says about one pipeline's run.
type Run struct {
	Pipeline string
	RunID    string // sluice's run id; the event's runId is a UUID derived from it
	Source   Dataset
	Sink     Dataset
	Error    string // FAIL: why
}

// Emitter sends events to an OpenLineage HTTP endpoint and/or appends
// them to a file, one JSON object per line.
type Emitter struct {
	namespace string
	url       string // the endpoint's full URL; "" to not send
	apiKey    string
	file      string // "" to not write
	client    *http.Client
	mu        sync.Mutex
}

// FromEnv configures an Emitter from OPENLINEAGE_URL (with
// OPENLINEAGE_ENDPOINT, default api/v1/lineage, and OPENLINEAGE_API_KEY,
// as OpenLineage's clients read them), OPENLINEAGE_NAMESPACE (default
// "sluice") and file (apply -lineage-file). It returns nil when neither a
// URL nor a file is set.
func FromEnv(getenv func(string) string, file string) *Emitter {
	base := getenv("OPENLINEAGE_URL")
	if base == "" && file == "" {
		return nil
	}
	e := &Emitter{namespace: getenv("OPENLINEAGE_NAMESPACE"), file: file, apiKey: getenv("OPENLINEAGE_API_KEY"),
		client: &http.Client{Timeout: 10 * time.Second}}
	if e.namespace == "" {
		e.namespace = "sluice"
	}
	if base != "" {
		endpoint := getenv("OPENLINEAGE_ENDPOINT")
		if endpoint == "" {
			endpoint = "api/v1/lineage"
		}
		e.url = strings.TrimSuffix(base, "/") + "/" + strings.TrimPrefix(endpoint, "/")
	}
	return e
}

// Emit sends one event. A failure to deliver is returned for the caller
// to report as a warning: lineage never changes a run's outcome.
func (e *Emitter) Emit(ctx context.Context, eventType string, r Run, at time.Time) error {
	body, err := json.Marshal(e.event(eventType, r, at))
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.file != "" {
		f, err := os.OpenFile(e.file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("lineage file: %w", err)
		}
		_, werr := f.Write(append(body, '\n'))
		if err := f.Close(); werr == nil {
			werr = err
		}
		if werr != nil {
			return fmt.Errorf("lineage file: %w", werr)
		}
	}
	if e.url != "" {
		req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodPost, e.url, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("OPENLINEAGE_URL: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		if e.apiKey != "" {
			req.Header.Set("Authorization", "Bearer "+e.apiKey)
		}
		resp, err := e.client.Do(req)
		if err != nil {
			return fmt.Errorf("sending lineage to %s: %w", e.url, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("sending lineage to %s: %s", e.url, resp.Status)
		}
	}
	return nil
}

// facet adds the fields every facet carries.
func facet(schemaURL string, fields map[string]any) map[string]any {
	fields["_producer"] = Producer
	fields["_schemaURL"] = schemaURL
	return fields
}

func (e *Emitter) event(eventType string, r Run, at time.Time) map[string]any {
	job := map[string]any{"namespace": e.namespace, "name": r.Pipeline,
		"facets": map[string]any{"jobType": facet(jobTypeFacet, map[string]any{
			"processingType": "BATCH", "integration": "SLUICE", "jobType": "PIPELINE"})}}
	run := map[string]any{"runId": runUUID(r.Pipeline, r.RunID), "facets": map[string]any{}}
	if eventType == Fail && r.Error != "" {
		run["facets"].(map[string]any)["errorMessage"] = facet(errorMessageFacet, map[string]any{
			"message": r.Error, "programmingLanguage": "GO"})
	}
	in := dataset(r.Source)
	out := dataset(r.Sink)
	if eventType == Complete {
		if r.Source.Stats {
			in["inputFacets"] = map[string]any{"inputStatistics": facet(inputStatsFacet, map[string]any{
				"rowCount": r.Source.Rows, "size": r.Source.Bytes, "fileCount": r.Source.Files})}
		}
		if r.Sink.Stats {
			out["outputFacets"] = map[string]any{"outputStatistics": facet(outputStatsFacet, map[string]any{
				"rowCount": r.Sink.Rows, "size": r.Sink.Bytes, "fileCount": r.Sink.Files})}
		}
	}
	return map[string]any{
		"eventType": eventType,
		"eventTime": at.UTC().Format(time.RFC3339Nano),
		"producer":  Producer,
		"schemaURL": coreSchema,
		"run":       run,
		"job":       job,
		"inputs":    []any{in},
		"outputs":   []any{out},
	}
}

// dataset names a URL by OpenLineage's naming conventions (S3: namespace
// s3://bucket, name the key prefix; local: namespace file, name the path)
// and gives its schema facet when the columns are known.
func dataset(d Dataset) map[string]any {
	ns, name := "file", d.URL
	if u, err := url.Parse(d.URL); err == nil && u.Scheme == "s3" {
		ns, name = "s3://"+u.Host, strings.TrimPrefix(u.Path, "/")
	}
	out := map[string]any{"namespace": ns, "name": name, "facets": map[string]any{}}
	if d.Columns != nil {
		var fields []any
		for i, c := range d.Columns {
			fields = append(fields, map[string]any{"name": c.Name, "type": c.Type.String(), "ordinal_position": i + 1})
		}
		out["facets"].(map[string]any)["schema"] = facet(schemaFacet, map[string]any{"fields": fields})
	}
	return out
}

// runUUID is the event's runId: a name-based UUID (version 5 layout) of the
// pipeline and sluice's run id, so every event of one run carries the same
// id and the id leads back to the run.
func runUUID(pipeline, runID string) string {
	h := sha1.Sum([]byte("sluice\x00" + pipeline + "\x00" + runID))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}
