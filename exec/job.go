package exec

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet/metadata"

	"github.com/sluicedata/sluice/exec/decode"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/planner"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/predicate"
	"github.com/sluicedata/sluice/spec/schema"
	"github.com/sluicedata/sluice/tables"
)

// Job is one pipeline's run as the executor sees it: everything is resolved
// (stores opened, schemas typed, predicates compiled), so running it needs
// no configuration and no planner.
type Job struct {
	Pipeline string
	RunID    string
	Source   SourceSpec
	Sink     SinkSpec
	// Filter is the residual predicate evaluated on every decoded row
	// (file columns plus partition columns); nil keeps every row.
	Filter *predicate.Predicate
	Checks []CheckSpec
	// Output, with an output block, computes each Sink.Columns column (in
	// order) from a filtered row; nil: the output columns are source
	// columns, taken by name.
	Output []OutputSpec
	// Explode names the output column whose list elements each make a row
	// (its OutputSpec's Type is the list); "": none.
	Explode string
	// Dedupe keeps one output row per key across the run's tasks; nil: no
	// dedupe.
	Dedupe *DedupeSpec
	Tasks  []Task
	// build makes the Inputs of plan indexes (JobFromPlan's tasks).
	build func(plan []int32) []Input
	// Plan is the plan the job was built from (JobFromPlan), which an
	// executor running the tasks in other processes ships to them; nil for
	// a job built by hand.
	Plan *planner.PipelinePlan
}

// SourceSpec is how to read the inputs.
type SourceSpec struct {
	Name        string
	Loc         objstore.Location
	Format      spec.Format
	Compression spec.Compression
	// FileSchema holds the columns decoded from each object, in order.
	FileSchema *arrow.Schema
	// PartitionFields are the partition keys the job needs, typed; their
	// values come from each input's path (Input.Partition, same order).
	PartitionFields  []arrow.Field
	TimestampFormats map[string]string
	CSV              spec.CSVOptions
	OnBadRecord      spec.BadRecordPolicy
	OnSchemaChange   spec.SchemaChangePolicy
	// MaxRecordBytes bounds one JSON line or CSV record (0: the decoder's
	// default).
	MaxRecordBytes int64
	// Rescue is the rescued data column's settings; nil without one.
	Rescue *decode.Rescue
}

// SinkSpec is where and how to write.
type SinkSpec struct {
	Name string
	Loc  objstore.Location
	// Columns are the output columns in order (they include PartitionBy,
	// which are written in the path only).
	Columns        []string
	Format         spec.Format
	Compression    spec.Compression
	PartitionBy    []string
	Mode           spec.Mode
	Committer      spec.Committer
	TargetFileSize int64
	RowGroupSize   int64
	CSV            spec.CSVOptions
	// Object holds the server-side settings every object written under the
	// sink is created with (outputs, quarantine files; the commit gives
	// the manifest the same): the s3 block's, or none without one. Content
	// types are added per object.
	Object objstore.ObjectOptions
	// Table, for an iceberg sink, is how its data files are written: the
	// table's column types and field ids, and its partition fields (the
	// files keep their partition columns and are laid out by the fields).
	// Loc is then the table's data location. nil for a file sink.
	Table *tables.WriteSpec
}

// OutputSpec is one output column computed by the projection stage.
type OutputSpec struct {
	Name string
	Expr predicate.Expr // over the file columns and partition keys
	Type schema.Type
}

// DedupeSpec is the dedupe block: Key and OrderBy name output columns.
type DedupeSpec struct {
	Key     []string
	OrderBy string // "": input order alone
	Keep    spec.Keep
}

// CheckSpec is one check evaluated on the output rows before commit.
type CheckSpec struct {
	Name     string
	Expr     *predicate.Predicate // nil: a min_rows check
	MinRows  int64                // -1: unset
	Severity spec.Severity
}

// Task is a list of inputs read and written by one worker.
type Task struct {
	Index  int
	Inputs []Input
	// plan and bytes stand for Inputs when JobFromPlan left them unbuilt:
	// the task's indexes into the plan's input list and their total size.
	// A run over half a million small files would otherwise hold half a
	// million Inputs from start to commit; see Job.TaskInputs.
	plan  []int32
	bytes int64
}

// TaskInputs returns t's inputs, building them from the plan when
// JobFromPlan left them unbuilt. Callers hold them only while they work
// on t.
func (j *Job) TaskInputs(t Task) []Input {
	if t.Inputs != nil || t.plan == nil || j.build == nil {
		return t.Inputs
	}
	return j.build(t.plan)
}

// TaskSize is how many input files t has and their bytes, without
// building its inputs.
func (j *Job) TaskSize(t Task) (files int, bytes int64) {
	if t.Inputs == nil && t.plan != nil {
		return len(t.plan), t.bytes
	}
	for _, in := range t.Inputs {
		bytes += in.Size
	}
	return len(t.Inputs), bytes
}

// Input is one pinned input object.
type Input struct {
	Key       string // full key inside Source.Loc.Store
	Size      int64
	ETag      string
	Partition []any // typed values of Source.PartitionFields (nil = null)
	RowGroups []int // parquet: the row groups to read (nil: all)
	// PartitionErr says a value in the input's path is not of its key's
	// type: the input is unreadable (on_bad_record decides), never read.
	PartitionErr error

	// Part of Parts: a large Parquet file read by several tasks, this one
	// reading RowGroups (see splitTasks); Parts is 0 for a whole file.
	Part, Parts int
	footer      *metadata.FileMetaData // read when it was split
	// Seq is the input's index in the plan (key order), which orders rows
	// across tasks for dedupe whatever the packing of inputs into tasks.
	Seq int
}
