package txn

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sluicedata/sluice/objstore"
)

// ManifestFormatVersion is the format of commit manifests.
const ManifestFormatVersion = "1"

// Manifest is the record of one committed run, written to
// <sink>/_sluice/commits/<run id>.manifest. Readers that follow manifests
// see each run appear whole.
type Manifest struct {
	FormatVersion string          `json:"format_version"`
	RunID         string          `json:"run_id"`
	Pipeline      string          `json:"pipeline"`
	Source        string          `json:"source"`
	Sink          string          `json:"sink"`
	Mode          string          `json:"mode"`
	CommittedAt   time.Time       `json:"committed_at"`
	Files         []ManifestFile  `json:"files"`
	Quarantine    []string        `json:"quarantine,omitempty"`
	Deleted       []string        `json:"deleted,omitempty"`
	Inputs        ManifestInputs  `json:"inputs"`
	Metrics       json.RawMessage `json:"metrics"`
	Checks        json.RawMessage `json:"checks,omitempty"`
	ElapsedMS     int64           `json:"elapsed_ms"`
	Extra         json.RawMessage `json:"extra,omitempty"`
}

// ManifestFile is one published output.
type ManifestFile struct {
	Key       string            `json:"key"`
	Rows      int64             `json:"rows"`
	Bytes     int64             `json:"bytes"`
	Partition map[string]string `json:"partition,omitempty"`
}

// ManifestInputs summarises the inputs: their count, bytes, and a digest
// over (key, etag, size) in key order, so a run can be tied to exactly the
// objects it read.
type ManifestInputs struct {
	Files  int64  `json:"files"`
	Bytes  int64  `json:"bytes"`
	Digest string `json:"digest"`
}

// ManifestKey is the key of a run's manifest under the sink prefix.
func ManifestKey(sinkPrefix, runID string) string {
	return sinkPrefix + "_sluice/commits/" + runID + ".manifest"
}

// ManifestRef is a commit manifest found under a sink.
type ManifestRef struct {
	RunID        string
	Key          string
	LastModified time.Time
	*Manifest
}

// listManifests reads pipeline's commit manifests under sink, in run order.
func listManifests(ctx context.Context, sink objstore.Location, pipeline string) ([]ManifestRef, error) {
	refs, err := ListManifests(ctx, sink)
	if err != nil {
		return nil, err
	}
	var out []ManifestRef
	for _, r := range refs {
		m, err := ReadManifest(ctx, sink.Store, r.Key)
		if err != nil {
			return nil, err
		}
		if m.Pipeline != "" && m.Pipeline != pipeline {
			continue
		}
		r.Manifest = m
		out = append(out, r)
	}
	return out, nil
}

// ListManifests lists the commit manifests under sink (without reading
// them), in run id order.
func ListManifests(ctx context.Context, sink objstore.Location) ([]ManifestRef, error) {
	prefix := sink.Prefix + "_sluice/commits/"
	var out []ManifestRef
	err := objstore.ListAll(ctx, sink.Store, objstore.ListInput{Prefix: prefix}, func(page objstore.ListPage) error {
		for _, o := range page.Objects {
			if id, ok := strings.CutSuffix(strings.TrimPrefix(o.Key, prefix), ".manifest"); ok {
				out = append(out, ManifestRef{RunID: id, Key: o.Key, LastModified: o.LastModified})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", prefix, err)
	}
	return out, nil
}

// ReadManifest reads one commit manifest.
func ReadManifest(ctx context.Context, store objstore.Store, key string) (*Manifest, error) {
	rc, _, err := store.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("reading manifest %s: %w", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("reading manifest %s: %w", key, err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", key, err)
	}
	return &m, nil
}
