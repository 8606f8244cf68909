package exec

import (
	"fmt"
	"slices"

	"github.com/sluicedata/sluice/hive"
	"github.com/sluicedata/sluice/spec/predicate"
)

// OutputPartitions lists the output partition directories (relative to the
// sink, "dt=2026-01-01/") that the job's inputs feed: what an
// overwrite_partitions run replaces whole, including a partition whose rows
// are all filtered out (it is emptied).
func (job *Job) OutputPartitions() []string {
	return affectedPartitions(job)
}

// affectedPartitions renders the output partition directory of every input.
func affectedPartitions(job *Job) []string {
	pos := make([]int, len(job.Sink.PartitionBy))
	for i, k := range job.Sink.PartitionBy {
		pos[i] = -1
		for j, f := range job.Source.PartitionFields {
			if f.Name == k {
				pos[i] = j
			}
		}
	}
	seen := map[string]bool{}
	var out []string
	vals := make([]string, len(pos))
	for _, t := range job.Tasks {
		for _, in := range job.TaskInputs(t) {
			for i, p := range pos {
				if p < 0 || p >= len(in.Partition) {
					vals[i] = ""
				} else {
					vals[i] = predicate.FormatPartitionValue(in.Partition[p])
				}
			}
			dir := hive.Dir(job.Sink.PartitionBy, vals)
			if !seen[dir] {
				seen[dir] = true
				out = append(out, dir)
			}
		}
	}
	slices.Sort(out)
	return out
}

// OutputPartitionValues lists the partition tuples an overwrite_partitions
// run of an iceberg sink replaces: for each output partition the inputs
// feed, its values in PartitionBy order, rendered as the writer renders
// them (nil for null). The table commit deletes the live files of exactly
// these partitions.
func (job *Job) OutputPartitionValues() [][]*string {
	pos := make([]int, len(job.Sink.PartitionBy))
	for i, k := range job.Sink.PartitionBy {
		pos[i] = -1
		for j, f := range job.Source.PartitionFields {
			if f.Name == k {
				pos[i] = j
			}
		}
	}
	seen := map[string]bool{}
	var out [][]*string
	for _, t := range job.Tasks {
		for _, in := range job.TaskInputs(t) {
			vals := make([]*string, len(pos))
			key := ""
			for i, p := range pos {
				if p < 0 || p >= len(in.Partition) || in.Partition[p] == nil {
					key += "N;"
					continue
				}
				s := predicate.FormatPartitionValue(in.Partition[p])
				vals[i] = &s
				key += fmt.Sprintf("%d:%s;", len(s), s)
			}
			if !seen[key] {
				seen[key] = true
				out = append(out, vals)
			}
		}
	}
	return out
}
