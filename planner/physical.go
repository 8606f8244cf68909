package planner

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/predicate"
	"github.com/sluicedata/sluice/spec/schema"
)

// FormatVersion is the version of the plan file and of plan -json.
const FormatVersion = "1.0"

// Plan is the physical plan of one run: plain data, serializable, with
// everything the executor needs and nothing it must recompute.
type Plan struct {
	FormatVersion string `json:"format_version"`
	RunID         string `json:"run_id"`
	ConfigDigest  string `json:"config_digest"`
	// ConfigDir is the configuration directory as plan was given it
	// (relative to the directory plan ran in, unless given absolute):
	// apply PLANFILE loads the configuration from there, relative to its
	// own working directory, and checks the plan against it. "" in plans
	// older than the field: the current directory.
	ConfigDir string          `json:"config_dir,omitempty"`
	Created   time.Time       `json:"created"`
	Pipelines []*PipelinePlan `json:"pipelines"`
}

// PipelinePlan is one pipeline's part of a plan.
type PipelinePlan struct {
	Name   string         `json:"name"`
	Source SourceSettings `json:"source"`
	Sink   SinkSettings   `json:"sink"`
	// FileSchema are the columns to decode from each input (projection
	// pushed down); nil for a schemaless Parquet source: every column.
	FileSchema []schema.Column `json:"file_schema"`
	// OutputSchema are the columns of the output rows, in select order
	// (partition_by columns included: the writer moves them to the path).
	OutputSchema []schema.Column `json:"output_schema"`
	// OutputExprs, with an output block, are the expressions of the output
	// columns (one per OutputSchema column, as expr-lang text over the
	// source's columns and keys); the executor compiles them with
	// spec.OutputExpr. Empty: the output columns are source columns.
	OutputExprs []string `json:"output_exprs,omitempty"`
	// Explode is the output column of list type whose elements each make a
	// row (OutputSchema types it by the element); "": none.
	Explode string `json:"explode,omitempty"`
	// Dedupe keeps one output row per key across the run; nil: no dedupe.
	Dedupe *DedupePlan `json:"dedupe,omitempty"`
	// Where is the residual row predicate as expr-lang text ("" keeps every
	// row); the executor recompiles it with predicate.Compile.
	Where  string      `json:"where,omitempty"`
	Checks []CheckPlan `json:"checks,omitempty"`
	Tasks  []Task      `json:"tasks"`
	State  StatePin    `json:"state"`
	// Summary and Nodes are what plan shows; Rules the trace of the rules
	// that fired.
	Summary Summary    `json:"summary"`
	Nodes   []NodeJSON `json:"nodes"`
	Rules   []Fired    `json:"rules"`
	Commit  string     `json:"commit"` // the sentence plan prints about the commit
	// Table is the Iceberg table an iceberg sink commits to (nil for a
	// file sink).
	Table *TablePlan `json:"table,omitempty"`

	inputs    *Inputs
	rowGroups map[int][]int
}

// NumInputs is the number of pinned inputs.
func (p *PipelinePlan) NumInputs() int { return p.inputs.Len() }

// Input returns pinned input i (tasks hold these indices).
func (p *PipelinePlan) Input(i int) Input {
	in := p.inputs.At(i)
	if rgs, ok := p.rowGroups[i]; ok {
		in.RowGroups = rgs
		in.NoRowGroups = len(rgs) == 0
	}
	return in
}

// Inputs is the compact input list.
func (p *PipelinePlan) Inputs() *Inputs { return p.inputs }

// SourceSettings are the source attributes the executor needs.
type SourceSettings struct {
	Name           string                  `json:"name"`
	URL            string                  `json:"url"`
	Prefix         string                  `json:"prefix"` // key prefix in the store opened from URL
	Format         spec.Format             `json:"format"`
	Compression    spec.Compression        `json:"compression"`
	Partitions     []string                `json:"partitions,omitempty"`
	PartitionTypes []schema.Type           `json:"partition_types,omitempty"`
	OnBadRecord    spec.BadRecordPolicy    `json:"on_bad_record"`
	OnSchemaChange spec.SchemaChangePolicy `json:"on_schema_change"`
	CSV            spec.CSVOptions         `json:"csv"`
	// MaxRecordBytes bounds one text record (0 in plans made before it
	// existed: the decoder's default).
	MaxRecordBytes int64 `json:"max_record_bytes,omitempty"`
	// CleanSource moves (to ArchiveURL) or deletes the inputs once their
	// run is committed; 0 or off leaves them.
	CleanSource spec.CleanSource `json:"clean_source,omitempty"`
	ArchiveURL  string           `json:"archive_url,omitempty"`
	// RescuedDataColumn is rescued_data_column (""), and DeclaredColumns
	// (only with it) the names the source declares: any other field of a
	// record is rescued.
	RescuedDataColumn string   `json:"rescued_data_column,omitempty"`
	DeclaredColumns   []string `json:"declared_columns,omitempty"`
}

// SinkSettings are the sink attributes the executor needs.
type SinkSettings struct {
	Name           string           `json:"name"`
	URL            string           `json:"url"`
	Format         spec.Format      `json:"format"`
	Compression    spec.Compression `json:"compression"`
	PartitionBy    []string         `json:"partition_by,omitempty"`
	Mode           spec.Mode        `json:"mode"`
	Committer      spec.Committer   `json:"committer"`
	TargetFileSize int64            `json:"target_file_size"`
	RowGroupSize   int64            `json:"row_group_size"`
	S3             spec.S3Options   `json:"s3"`
	CSV            spec.CSVOptions  `json:"csv"`
	// Partitioning is an iceberg sink's partition_by, parsed.
	Partitioning []spec.PartitionField `json:"partitioning,omitempty"`
}

// DedupePlan is a pipeline's dedupe block: one row per Key (output
// columns), the first or last by OrderBy (an output column, or "": input
// order alone), ties broken by input order.
type DedupePlan struct {
	Key     []string  `json:"key"`
	OrderBy string    `json:"order_by,omitempty"`
	Keep    spec.Keep `json:"keep"`
}

// CheckPlan is one check, as text the executor recompiles.
type CheckPlan struct {
	Name     string        `json:"name"`
	Expr     string        `json:"expr,omitempty"`
	MinRows  int64         `json:"min_rows"` // -1: unset
	Severity spec.Severity `json:"severity"`
}

// StatePin is the state HEAD the plan was made against; apply refuses the
// plan if HEAD moved.
type StatePin struct {
	URL string `json:"url"`
	Dir string `json:"dir"` // the pipeline/source directory the run records into
	// MovedFrom is set when Dir has no state yet and a moved block names an
	// old directory that has: Version and ETag are then that directory's
	// HEAD, and the commit (txn) calls state.Bookmarks.Adopt before recording.
	MovedFrom string `json:"moved_from,omitempty"`
	Version   int64  `json:"version"`
	ETag      string `json:"etag"`
}

// Summary are the figures of plan -json.
type Summary struct {
	Inputs         Figures  `json:"inputs"`
	Pruned         Pruned   `json:"pruned"`
	Backlog        Figures  `json:"backlog"`
	EstimatedFiles int64    `json:"estimated_files"`
	Pending        bool     `json:"pending"`
	Warnings       []string `json:"warnings"`
	// BacklogOldest is when the oldest file of the backlog left after this
	// run was written (nil: no backlog): its age is how far behind the
	// pipeline is.
	BacklogOldest *time.Time `json:"backlog_oldest,omitempty"`
	// PendingOldest is the same over every unprocessed input, this run's
	// included (nil when nothing is pending).
	PendingOldest *time.Time `json:"pending_oldest,omitempty"`
	// Timings are how long listing (with the merge against the bookmarks)
	// and the whole planning of the pipeline took.
	Timings Timings `json:"timings"`
}

// Timings of planning one pipeline, in milliseconds.
type Timings struct {
	ListMS int64 `json:"list_ms"`
	PlanMS int64 `json:"plan_ms"`
}

// Pruned counts what pruning removed.
type Pruned struct {
	Partitions int64 `json:"partitions"`
	Files      int64 `json:"files"`
	Bytes      int64 `json:"bytes"`
}

// NodeJSON is one node of plan -json.
type NodeJSON struct {
	ID        int       `json:"id"`
	Kind      string    `json:"kind"`
	Detail    string    `json:"detail"`
	Estimates Estimates `json:"estimates"`
	Children  []int     `json:"children,omitempty"`
	// Project is a Project node's columns, for tools: the Detail text
	// says the same for people.
	Project *ProjectJSON `json:"project,omitempty"`
}

// ProjectJSON is what a Project node writes: its output columns in order,
// the source columns that leave under no name, and the dedupe.
type ProjectJSON struct {
	Columns []OutputColumnJSON `json:"columns"`
	Dropped []string           `json:"dropped"`
	Flatten []string           `json:"flatten"`
	Dedupe  *DedupeJSON        `json:"dedupe,omitempty"`
}

// OutputColumnJSON is one output column: passed through from a source
// column (From, the same name unless renamed) or derived (Expr).
type OutputColumnJSON struct {
	Name     string `json:"name"`
	Type     string `json:"type,omitempty"` // empty: as the source declares it
	From     string `json:"from,omitempty"`
	Expr     string `json:"expr,omitempty"`
	Kept     bool   `json:"kept,omitempty"`     // by rest = "keep"
	Exploded bool   `json:"exploded,omitempty"` // one row per element
}

// DedupeJSON is a Project node's dedupe.
type DedupeJSON struct {
	Key     []string `json:"key"`
	OrderBy string   `json:"order_by,omitempty"`
	Keep    string   `json:"keep"`
}

// NewRunID returns a time-sortable run id like 20261121T232147.123Z-a1b2c3:
// UTC to the millisecond, so runs started one after another sort in start
// order (bookmark segments, journals and manifests are named by it), and a
// random suffix so that two planners never pick the same id.
func NewRunID(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102T150405.000Z") + "-" + hex.EncodeToString(b[:])
}

// FormatBytes renders a byte count for people: "312 B", "1.5 MiB".
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	v := float64(n) / float64(div)
	s := fmt.Sprintf("%.1f", v)
	if len(s) > 2 && s[len(s)-2:] == ".0" {
		s = s[:len(s)-2]
	}
	return s + " " + string("KMGTP"[exp]) + "iB"
}

// Pending reports whether any pipeline of the plan has work to do
// (plan -detailed-exitcode exits 2 when it does).
func (p *Plan) Pending() bool {
	for _, pp := range p.Pipelines {
		if pp.Summary.Pending {
			return true
		}
	}
	return false
}

// Shape is the source's shape as the plan recorded it, for the executor:
// the partition keys typed as at plan time (a string when a plan file has
// no type for one), the file columns to decode (FileSchema, the partition
// keys left out: their values come from the paths) and the output names.
func (p *PipelinePlan) Shape() spec.SourceShape {
	var sh spec.SourceShape
	for i, k := range p.Source.Partitions {
		t := schema.StringType
		if i < len(p.Source.PartitionTypes) && p.Source.PartitionTypes[i].Kind != schema.Invalid {
			t = p.Source.PartitionTypes[i]
		}
		sh.Partitions = append(sh.Partitions, schema.Column{Name: k, Type: t, Nullable: true})
	}
	for _, c := range p.FileSchema {
		if !slices.Contains(p.Source.Partitions, c.Name) {
			sh.FileColumns = append(sh.FileColumns, c)
		}
	}
	for _, c := range p.OutputSchema {
		sh.OutputNames = append(sh.OutputNames, c.Name)
	}
	return sh
}

// PredicateEnv is the environment the executor compiles Where in: the
// decoded columns plus the hive partition keys, typed as at plan time.
func (p *PipelinePlan) PredicateEnv() predicate.Env { return p.Shape().PredicateEnv() }

// CheckEnv is the environment the checks compile in: the output columns.
func (p *PipelinePlan) CheckEnv() predicate.Env {
	return predicate.Env{Columns: p.OutputSchema}
}
