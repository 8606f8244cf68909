package exec

import (
	"context"
	"slices"

	"github.com/apache/arrow-go/v18/parquet/metadata"

	"github.com/sluicedata/sluice/exec/decode"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
)

// SplitParquetAbove is the size from which a Parquet input that is a task
// of its own may be read by several tasks, each taking a contiguous run of
// its row groups, when the run has fewer tasks than workers. A task never
// splits a file in the plan (task packing only groups whole files); without
// this a run over one large file would decode it on one core however many
// it has.
var SplitParquetAbove int64 = 8 << 20

// splitTasks returns the tasks to run: the plan's, with each single-input
// task over a large Parquet file split by row groups while workers would
// otherwise idle. The parts write files of their own (their task numbers
// follow the plan's), and commit still sees the plan's inputs: the run is
// one transaction, so a file is read whole or not at all.
//
// A footer that cannot be read leaves the task as planned: reading it then
// reports the problem under on_bad_record like any other.
func (r *runner) splitTasks(ctx context.Context) []Task {
	tasks := slices.Clone(r.job.Tasks)
	if r.job.Source.Format != spec.FormatParquet || len(tasks) >= r.o.Parallelism {
		return tasks
	}
	for i, t := range tasks {
		if files, _ := r.job.TaskSize(t); files == 1 {
			tasks[i].Inputs = r.job.TaskInputs(t) // one input to look at: cheap
		}
	}
	next := 0
	splittable := func(t Task) bool {
		return len(t.Inputs) == 1 && t.Inputs[0].Size >= SplitParquetAbove && t.Inputs[0].PartitionErr == nil
	}
	var candidates int
	for _, t := range tasks {
		next = max(next, t.Index+1)
		if splittable(t) {
			candidates++
		}
	}
	if candidates == 0 {
		return tasks
	}
	// The idle workers are shared out among the large files, the first
	// ones getting one more when they do not divide evenly.
	idle := r.o.Parallelism - len(tasks)
	var out []Task
	seen := 0
	for _, t := range tasks {
		if !splittable(t) {
			out = append(out, t)
			continue
		}
		extra := idle / candidates
		if seen < idle%candidates {
			extra++
		}
		seen++
		if extra == 0 {
			out = append(out, t)
			continue
		}
		in := t.Inputs[0]
		md, err := r.readFooter(ctx, in)
		if err != nil {
			out = append(out, t)
			continue
		}
		groups := in.RowGroups
		if groups == nil {
			for g := 0; g < md.NumRowGroups(); g++ {
				groups = append(groups, g)
			}
		}
		runs := splitRowGroups(groups, md, extra+1)
		if len(runs) < 2 {
			out = append(out, t)
			continue
		}
		for p, rgs := range runs {
			part := in
			part.RowGroups, part.Part, part.Parts, part.footer = rgs, p, len(runs), md
			idx := t.Index
			if p > 0 {
				idx, next = next, next+1
			}
			out = append(out, Task{Index: idx, Inputs: []Input{part}})
		}
	}
	return out
}

// readFooter reads in's footer with ranged reads (the parts reuse it).
func (r *runner) readFooter(ctx context.Context, in Input) (*metadata.FileMetaData, error) {
	ra := objstore.NewReaderAt(ctx, r.job.Source.Loc.Store, in.Key, in.Size)
	_, md, err := decode.ReadParquetSchema(ra, in.Size, in.Key)
	return md, err
}

// splitRowGroups cuts groups, in order, into at most n contiguous runs of
// about equal compressed size, or returns nil when there is nothing to cut.
func splitRowGroups(groups []int, md *metadata.FileMetaData, n int) [][]int {
	sizes := make([]int64, len(groups))
	for i, g := range groups {
		if g < 0 || g >= md.NumRowGroups() {
			return nil // the reader reports the bad index
		}
		sizes[i] = md.RowGroup(g).TotalCompressedSize()
	}
	return cutBySize(groups, sizes, n)
}

// cutBySize cuts groups into at most n contiguous runs whose summed sizes
// are about equal: a run ends once the runs so far hold their share of the
// total. Groups are the unit, so a run is never empty; there are
// min(n, len(groups)) runs, or nil when that is fewer than two.
func cutBySize(groups []int, sizes []int64, n int) [][]int {
	n = min(n, len(groups))
	if n < 2 {
		return nil
	}
	var total int64
	for i := range sizes {
		sizes[i] = max(sizes[i], 1)
		total += sizes[i]
	}
	var runs [][]int
	start, acc := 0, int64(0)
	for i := range groups {
		acc += sizes[i]
		left := n - len(runs) - 1 // runs still to start after this one
		rest := len(groups) - i - 1
		// End the run at its share, or when the groups left are just
		// enough to give each later run one.
		if left > 0 && rest >= left && (acc*int64(n) >= total*int64(len(runs)+1) || rest == left) {
			runs = append(runs, groups[start:i+1])
			start = i + 1
		}
	}
	return append(runs, groups[start:])
}
