package exec

import (
	"slices"
	"strconv"

	"github.com/sluicedata/sluice/hive"
	"github.com/sluicedata/sluice/spec/predicate"
)

// OutputPartitions lists the output partition directories (relative to the
// sink, "dt=2026-01-01/") that the job's inputs feed: what an
// overwrite_partitions run replaces whole, including a partition whose rows
// are all filtered out (it is emptied). A null value renders as "", as the
// writer's directory for it does.
func (job *Job) OutputPartitions() []string {
	seen := map[string]bool{}
	var out []string
	vals := make([]string, len(job.Sink.PartitionBy))
	for _, tuple := range job.OutputPartitionValues() {
		for i, v := range tuple {
			vals[i] = ""
			if v != nil {
				vals[i] = *v
			}
		}
		if dir := hive.Dir(job.Sink.PartitionBy, vals); !seen[dir] {
			seen[dir] = true
			out = append(out, dir)
		}
	}
	slices.Sort(out)
	return out
}

// OutputPartitionValues lists the partition tuples an overwrite_partitions
// run replaces: for each output partition the inputs feed, its values in
// PartitionBy order, rendered as the writer renders them (nil for null, and
// for a column that is no source partition key), in the order the inputs
// first feed them. The table commit of an iceberg sink deletes the live
// files of exactly these partitions.
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
	var key []byte
	for _, t := range job.Tasks {
		for _, in := range job.TaskInputs(t) {
			vals := make([]*string, len(pos))
			key = key[:0]
			for i, p := range pos {
				if p < 0 || p >= len(in.Partition) || in.Partition[p] == nil {
					key = append(key, "N;"...)
					continue
				}
				s := predicate.FormatPartitionValue(in.Partition[p])
				vals[i] = &s
				key = strconv.AppendInt(key, int64(len(s)), 10)
				key = append(append(append(key, ':'), s...), ';')
			}
			if !seen[string(key)] {
				seen[string(key)] = true
				out = append(out, vals)
			}
		}
	}
	return out
}
