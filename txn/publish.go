package txn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/state"
	"github.com/sluicedata/sluice/tables"
)

// Publisher is a sink's publication step: how a committed run's outputs
// become visible to readers, and how recovery tells whether they did.
// The protocol around it is the same for every sink — lock, journal,
// bookmark segment, HEAD swap, recovery (docs/commit-protocol.md) — and
// the publisher is what differs. Two implementations: files (the outputs
// completed in place under the sink's prefix, the objects an overwrite
// replaces deleted, a commit manifest written) and table (the outputs
// committed to an Apache Iceberg table as one snapshot carrying the run
// id). Both pass the conformance suite in publish_test.go.
type Publisher interface {
	// Prepare readies the sink before anything is written and says where
	// (and, for a table, how) the run's outputs go. A table is created or
	// gains columns here; a file sink has nothing to do.
	Prepare(ctx context.Context) (Target, error)
	// Describe records in the WRITING journal what recovery needs to
	// reopen the publisher and find a crashed run's leftovers.
	Describe(j *state.Journal)
	// Stage decides, under the lock and before COMMITTING is journaled,
	// everything the publication will do, and records it in j: the uploads
	// to complete and, for files, the objects to delete and the manifest;
	// for a table, the data files and the partitions replaced. It returns
	// the run's manifest.
	Stage(ctx context.Context, out *Outputs, j *state.Journal) (*Manifest, error)
	// Publish carries out what j records. Every step recognises its own
	// earlier success, so a roll-forward repeats it safely. An error
	// wrapping ErrNotPublished says nothing became visible and nothing
	// will: the run is rolled back.
	Publish(ctx context.Context, j *state.Journal) error
	// Published reports, for a COMMITTING journal that recovery finds,
	// whether its publication took effect, wholly or in part (the run is
	// rolled forward) or not at all (rolled back). Files: always, since
	// completing the first output made it visible. Table: when the run id
	// is in the ancestry of the table's current snapshot.
	Published(ctx context.Context, j *state.Journal) (bool, error)
	// Discard removes what a run that will not publish left under the
	// sink: pending uploads carrying its run id, outputs completed but not
	// published (a table's data files that no snapshot references).
	Discard(ctx context.Context, j *state.Journal) error
	// Close releases what the publisher holds (a catalog connection).
	Close() error
}

// Target is where a run's outputs go.
type Target struct {
	Loc objstore.Location
	// Table, for a table sink, is how the data files are written (field
	// ids, partition fields); nil for files.
	Table *tables.WriteSpec
}

// ErrNotPublished says a publication did not happen and will not (for a
// table: every attempt lost to other writers); the commit rolls the run
// back at once.
var ErrNotPublished = errors.New("the run was not published")

// Sink describes where a run publishes.
type Sink struct {
	// URL is a file sink's location; Direct its committer = "direct".
	URL    string
	Direct bool
	// Table is set for an iceberg sink.
	Table *TableSink
}

// TableSink is an iceberg sink: the catalog's recordable settings and
// what the pipeline writes into the table.
type TableSink struct {
	Catalog tables.CatalogConfig
	Want    tables.Want
}

// Option changes how Acquire, Recover and NewPublisher open what a run or
// a journal names, and what recovery stops (StopExecutors).
type Option func(*options)

type options struct {
	catalogs *tables.Opener
	stop     StopFunc
}

// WithCatalogs opens catalogs with o (which holds the configuration's
// catalog secrets); without it, catalogs are opened with their recorded
// settings and the environment.
func WithCatalogs(o *tables.Opener) Option { return func(x *options) { x.catalogs = o } }

func optionsOf(opts []Option) options {
	var o options
	for _, f := range opts {
		f(&o)
	}
	return o
}

func (o OpenFunc) orDefault() OpenFunc {
	if o != nil {
		return o
	}
	return func(ctx context.Context, url string) (objstore.Location, error) { return objstore.Open(ctx, url) }
}

// NewPublisher returns the publisher of s. A file sink's store is opened
// here; a table's catalog when Prepare runs.
func NewPublisher(ctx context.Context, s Sink, open OpenFunc, opts ...Option) (Publisher, error) {
	o := optionsOf(opts)
	open = open.orDefault()
	if s.Table != nil {
		want := s.Table.Want
		return &tablePublisher{cfg: s.Table.Catalog, name: want.Table, want: &want, opener: o.catalogs, open: open}, nil
	}
	loc, err := open(ctx, s.URL)
	if err != nil {
		return nil, fmt.Errorf("sink %s: %w", s.URL, err)
	}
	return &filesPublisher{sink: loc, direct: s.Direct}, nil
}

// publisherOf reopens the publisher a journal names, for recovery: a
// table's when the journal records one, else the files' under SinkURL
// (none for a pure state change).
func publisherOf(ctx context.Context, j *state.Journal, open OpenFunc, o options) (Publisher, error) {
	if len(j.Table) > 0 {
		var rec tableRecord
		if err := json.Unmarshal(j.Table, &rec); err != nil {
			return nil, fmt.Errorf("journal %s: table record: %w", j.RunID, err)
		}
		p := &tablePublisher{cfg: rec.Catalog, name: rec.Table, opener: o.catalogs, open: open.orDefault()}
		if j.SinkURL != "" {
			loc, err := p.open(ctx, j.SinkURL)
			if err != nil {
				return nil, fmt.Errorf("table %s data location %s: %w", rec.Table, j.SinkURL, err)
			}
			p.loc = loc
		}
		return p, nil
	}
	var sink objstore.Location
	if j.SinkURL != "" {
		var err error
		if sink, err = open.orDefault()(ctx, j.SinkURL); err != nil {
			return nil, fmt.Errorf("sink %s: %w", j.SinkURL, err)
		}
	}
	return &filesPublisher{sink: sink, direct: j.Direct}, nil
}
