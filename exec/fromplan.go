package exec

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicedata/sluice/exec/arrowtype"
	"github.com/sluicedata/sluice/exec/decode"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/planner"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/predicate"
	"github.com/sluicedata/sluice/spec/schema"
	"github.com/sluicedata/sluice/tables"
)

// OpenFunc opens a store URL.
type OpenFunc func(ctx context.Context, url string) (objstore.Location, error)

// JobOption changes how JobFromPlan builds a Job.
type JobOption func(*jobOptions)

type jobOptions struct {
	table *tables.WriteSpec
	loc   objstore.Location
	set   bool
}

// WithSink writes the job's outputs at loc, the sink as its commit
// prepared it, instead of opening the plan's sink URL; ws, for an iceberg
// sink, says how the table's files are written (its sink has no URL: where
// the table lives is known once the table is prepared, under the lock).
func WithSink(loc objstore.Location, ws *tables.WriteSpec) JobOption {
	return func(o *jobOptions) { o.loc, o.table, o.set = loc, ws, true }
}

// JobFromPlan turns one pipeline of a physical plan into a Job: it opens
// the stores, types the schemas for Arrow, recompiles the predicates the
// plan carries as text, and types each input's partition values.
func JobFromPlan(ctx context.Context, runID string, pp *planner.PipelinePlan, open OpenFunc, opts ...JobOption) (*Job, error) {
	var jo jobOptions
	for _, o := range opts {
		o(&jo)
	}
	src, err := open(ctx, pp.Source.URL)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", pp.Source.URL, err)
	}
	sink := jo.loc
	switch {
	case pp.Table != nil && jo.table == nil:
		return nil, fmt.Errorf("sink %s: table %s was not prepared", pp.Sink.Name, pp.Table.Table)
	case !jo.set:
		if sink, err = open(ctx, pp.Sink.URL); err != nil {
			return nil, fmt.Errorf("sink %s: %w", pp.Sink.URL, err)
		}
	}
	// The plan's shape: partition keys typed as planned (their values come
	// from the object path, never from the file, even when the schema
	// declares a same-named column to type them), the file columns to
	// decode, the output names, and the environment where compiles in.
	shape := pp.Shape()
	fileCols := shape.FileColumns
	job := &Job{
		Pipeline: pp.Name,
		RunID:    runID,
		Plan:     pp,
		Source: SourceSpec{
			Name: pp.Source.Name, Loc: src, Format: pp.Source.Format, Compression: pp.Source.Compression,
			FileSchema: arrowtype.ArrowSchema(fileCols), TimestampFormats: map[string]string{},
			CSV: pp.Source.CSV, OnBadRecord: pp.Source.OnBadRecord, OnSchemaChange: pp.Source.OnSchemaChange, MaxRecordBytes: pp.Source.MaxRecordBytes,
		},
		Sink: SinkSpec{
			Name: pp.Sink.Name, Loc: sink, Format: pp.Sink.Format, Compression: pp.Sink.Compression,
			PartitionBy: pp.Sink.PartitionBy, Mode: pp.Sink.Mode, Committer: pp.Sink.Committer,
			TargetFileSize: pp.Sink.TargetFileSize, RowGroupSize: pp.Sink.RowGroupSize, CSV: pp.Sink.CSV,
			Object: SinkObjectOptions(pp.Sink.S3),
			Table:  jo.table,
		},
	}
	if pp.Source.RescuedDataColumn != "" {
		job.Source.Rescue = &decode.Rescue{Column: pp.Source.RescuedDataColumn, Known: pp.Source.DeclaredColumns}
	}
	for _, c := range fileCols {
		if c.TimestampFormat != "" {
			job.Source.TimestampFormats[c.Name] = c.TimestampFormat
		}
	}
	partTypes := shape.PartitionTypes()
	for _, k := range shape.Partitions {
		job.Source.PartitionFields = append(job.Source.PartitionFields,
			arrow.Field{Name: k.Name, Type: arrowtype.ToArrow(k.Type), Nullable: true})
	}
	job.Sink.Columns = shape.OutputNames

	env := shape.PredicateEnv()
	if pp.Where != "" {
		p, errs := predicate.Compile(pp.Where, env)
		if len(errs) > 0 {
			return nil, fmt.Errorf("where %q: %s", pp.Where, errs[0].Summary)
		}
		job.Filter = p
	}
	if len(pp.OutputExprs) > 0 {
		if len(pp.OutputExprs) != len(pp.OutputSchema) {
			return nil, fmt.Errorf("plan has %d output expressions for %d output columns", len(pp.OutputExprs), len(pp.OutputSchema))
		}
		for i, c := range pp.OutputSchema {
			t := c.Type
			if c.Name == pp.Explode {
				// The plan types the exploded column by its element; its
				// expression gives the list.
				elem := t
				t = schema.Type{Kind: schema.List, Elem: &elem}
				job.Explode = c.Name
			}
			e, err := spec.OutputExpr(pp.OutputExprs[i], t, env)
			if err != nil {
				return nil, fmt.Errorf("output column %s: %w", c.Name, err)
			}
			job.Output = append(job.Output, OutputSpec{Name: c.Name, Expr: e, Type: t})
		}
	}
	if d := pp.Dedupe; d != nil {
		job.Dedupe = &DedupeSpec{Key: d.Key, OrderBy: d.OrderBy, Keep: d.Keep}
	}
	outEnv := pp.CheckEnv()
	for _, c := range pp.Checks {
		cs := CheckSpec{Name: c.Name, MinRows: c.MinRows, Severity: c.Severity}
		if c.Expr != "" {
			p, errs := predicate.Compile(c.Expr, outEnv)
			if len(errs) > 0 {
				return nil, fmt.Errorf("check %s %q: %s", c.Name, c.Expr, errs[0].Summary)
			}
			cs.Expr = p
		}
		job.Checks = append(job.Checks, cs)
	}

	// A task's Inputs are built when it runs (Job.TaskInputs), from the
	// plan's compact input list.
	for _, t := range pp.Tasks {
		job.Tasks = append(job.Tasks, Task{Index: t.ID, plan: t.Inputs, bytes: t.Bytes})
	}
	job.build = inputBuilder(pp, partTypes)
	return job, nil
}

// inputBuilder returns the function that makes the Inputs of plan
// indexes. The inputs of a partition share one parsed tuple of partition
// values (never modified): a backlog of half a million small files holds a
// few hundred distinct tuples, not half a million. It is safe for
// concurrent use: tasks build their inputs as they start.
func inputBuilder(pp *planner.PipelinePlan, partTypes []schema.Type) func([]int32) []Input {
	var mu sync.Mutex
	tuples := map[string][]any{}
	return func(plan []int32) []Input {
		out := make([]Input, 0, len(plan))
		var id []byte
		for _, idx := range plan {
			in := pp.Input(int(idx))
			if in.NoRowGroups {
				// Every row group was pruned: the file is recorded as
				// processed without being read.
				in.RowGroups = []int{}
			}
			id = tupleID(id[:0], in.Partitions)
			mu.Lock()
			vals, ok := tuples[string(id)]
			mu.Unlock()
			var perr error
			if !ok {
				vals = make([]any, len(partTypes))
				for i := range partTypes {
					if i >= len(in.Partitions) {
						continue // not under a hive path for this key: null
					}
					v, err := predicate.ParsePartitionValue(in.Partitions[i], partTypes[i])
					if err != nil && perr == nil {
						// plan keeps such an input (and warns); reading it is
						// the object's failure, for on_bad_record to decide.
						perr = fmt.Errorf("%s: partition %s: %w", in.Key, pp.Source.Partitions[i], err)
					}
					vals[i] = v
				}
				if perr == nil {
					mu.Lock()
					if len(tuples) < maxSharedTuples {
						tuples[string(id)] = vals
					}
					mu.Unlock()
				}
			}
			out = append(out, Input{Key: in.Key, Size: in.Size, ETag: in.ETag, Partition: vals, RowGroups: in.RowGroups, PartitionErr: perr, Seq: int(idx)})
		}
		return out
	}
}

// maxSharedTuples bounds the partition tuples JobFromPlan shares.
const maxSharedTuples = 1 << 16

// tupleID appends an unambiguous encoding of raw partition values to dst:
// each value's length, then the value.
func tupleID(dst []byte, values []string) []byte {
	for _, v := range values {
		dst = strconv.AppendInt(dst, int64(len(v)), 10)
		dst = append(dst, ':')
		dst = append(dst, v...)
	}
	return dst
}

// SinkObjectOptions are the object settings of a sink's s3 block: none
// unless the block was written (spec.S3Options.Declared), so that a sink
// without one gets the bucket's defaults.
func SinkObjectOptions(o spec.S3Options) objstore.ObjectOptions {
	if !o.Declared {
		return objstore.ObjectOptions{}
	}
	return objstore.ObjectOptions{SSE: o.SSE, KMSKeyID: o.KMSKeyID, StorageClass: o.StorageClass, ACL: o.ACL, Tags: o.Tags}
}
